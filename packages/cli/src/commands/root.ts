/**
 * The command tree of `effect-registry`: one module per command.
 */
import * as Command from "@effect/cli/Command"
import { blob } from "./blob.js"
import { catalog } from "./catalog.js"
import { config } from "./config.js"
import { copy } from "./copy.js"
import { deleteCommand } from "./delete.js"
import { digest } from "./digest.js"
import { login } from "./login.js"
import { logout } from "./logout.js"
import { manifest } from "./manifest.js"
import { ping } from "./ping.js"
import { pull } from "./pull.js"
import { push } from "./push.js"
import { referrers } from "./referrers.js"
import { sign } from "./sign.js"
import { tags } from "./tags.js"

/** The command tree. */
export const root = Command.make("effect-registry").pipe(
  Command.withDescription(
    "A client for OCI / Docker registries. References are [http://|https://]host[:port]/repository[:tag|@digest]; " +
      "https unless the reference says http://, --registry-opt HOST=plain-http, --plain-http (every registry) or " +
      "the settings file ($EFFECT_REGISTRY_CONFIG, else ~/.config/effect-registry/registries.json) says so. " +
      "Credentials: -u/--username with --password-stdin, -p or a prompt, else Docker's config.json. Exit codes: " +
      "0 ok, 2 bad input, 3 not found, 4 unauthorized or denied, 130 interrupted, 1 other failures."
  ),
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
    deleteCommand,
    referrers,
    sign,
    login,
    logout
  ])
)
