/**
 * The command tree of `effect-registry`: one module per command.
 */
import * as Command from "@effect/cli/Command"
import * as Runner from "../internal/runner.js"
import { blob } from "./blob.js"
import { catalog } from "./catalog.js"
import { config } from "./config.js"
import { copy } from "./copy.js"
import { deleteCommand } from "./delete.js"
import { digest } from "./digest.js"
import { exportCommand } from "./export.js"
import { importCommand } from "./import.js"
import { index } from "./index.js"
import { login } from "./login.js"
import { logout } from "./logout.js"
import { manifest } from "./manifest.js"
import { ping } from "./ping.js"
import { pull } from "./pull.js"
import { push } from "./push.js"
import { ratelimit } from "./ratelimit.js"
import { referrers } from "./referrers.js"
import { sign } from "./sign.js"
import { sync } from "./sync.js"
import { tag } from "./tag.js"
import { tags } from "./tags.js"
import { validate } from "./validate.js"

/** The command tree. */
export const root = Runner.root.pipe(
  Command.withSubcommands([
    ping,
    catalog,
    tags,
    manifest,
    digest,
    config,
    blob,
    push,
    pull,
    copy,
    sync,
    tag,
    exportCommand,
    importCommand,
    index,
    validate,
    ratelimit,
    deleteCommand,
    referrers,
    sign,
    login,
    logout
  ])
)
