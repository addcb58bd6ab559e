/**
 * Test helpers: the manifest fixtures (`fixtures/manifests` at the repository root) and a test certificate chain.
 *
 * The certificates were made once with openssl (EC P-256; root → intermediate → leaf, valid
 * from 2026-11-26 for about a century; "other" is an unrelated self-signed root). Tests that
 * check chains set the TestClock inside that window.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "../../..")

/** `<repo root>/fixtures/manifests`: public test vectors, described in their README. */
export const fixturesDir = path.join(repoRoot, "fixtures/manifests")

export const fixture = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(fixturesDir, name)))

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A time inside the test certificates' validity. */
export const certTime = Date.parse("2030-01-01T00:00:00Z")

export const leafKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIGmTkXYE6EJpfqbqryVqnqy/jFOHusBr+ZxwmSNELz1toAoGCCqGSM49
AwEHoUQDQgAEC63EdTyqnEIzdq4A3Ro5ggkN1lxsi5w40LaKDg09xp3zJl+9VAWa
67oYr6ExrzrA0U/AeZr3OeS+5WOr+D1YWA==
-----END EC PRIVATE KEY-----
`

export const leafCert = `-----BEGIN CERTIFICATE-----
MIIBtjCCAVygAwIBAgIUU5eWH1gxTHL/YzXbFx6f80xI36MwCgYIKoZIzj0EAwIw
LDEqMCgGA1UEAwwhZWZmZWN0LXJlZ2lzdHJ5IHRlc3QgaW50ZXJtZWRpYXRlMCAX
DTI2MTEyNjIyNTc0MFoYDzIxMjIwOTI0MjI1NzQwWjAmMSQwIgYDVQQDDBtlZmZl
Y3QtcmVnaXN0cnkgdGVzdCBzaWduZXIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAQLrcR1PKqcQjN2rgDdGjmCCQ3WXGyLnDjQtooODT3GnfMmX71UBZrruhivoTGv
OsDRT8B5mvc55L7lY6v4PVhYo2AwXjAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQE
AwIHgDAdBgNVHQ4EFgQU/8wFTi5Y5roS66GP6TOyv3uagJUwHwYDVR0jBBgwFoAU
YzxcGY9XinXo/48jcwRHoQ3hOdUwCgYIKoZIzj0EAwIDSAAwRQIgdTvJrD9hOxKV
L03h+JP8Fgq9hHAl59+RCWaA0dJWh14CIQD3NHQhh6MAYk8kCQEwjY5n/9f4Nk/E
K9CWrzT2T67lig==
-----END CERTIFICATE-----
`

export const intermediateCert = `-----BEGIN CERTIFICATE-----
MIIBtjCCAV2gAwIBAgIUAkvvlqNYHPSwAUG/hQ5gQ6NNCmEwCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZZWZmZWN0LXJlZ2lzdHJ5IHRlc3Qgcm9vdDAgFw0yNjExMjYy
MjU3MzlaGA8yMTI1MDYyMDIyNTczOVowLDEqMCgGA1UEAwwhZWZmZWN0LXJlZ2lz
dHJ5IHRlc3QgaW50ZXJtZWRpYXRlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
9dLV336HcqJ1P/nt+NwGs0EgS/ypZs/siqeBMW1n27RXX6t5YD/8/G/pjld6Lvod
q05k2AZ/NHw/nhtMxjETVqNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E
BAMCAQYwHQYDVR0OBBYEFGM8XBmPV4p16P+PI3MER6EN4TnVMB8GA1UdIwQYMBaA
FJoSS9s2BzdVPpvL+/Q/1IHTMVBeMAoGCCqGSM49BAMCA0cAMEQCIH0XuMXbyeEE
F+8FjBJmAyAq/8YaligBAy24d6NTsySDAiBqz7pkbwCSPowaHMglEnO8AoGde86k
WCTWqhQcejOBjw==
-----END CERTIFICATE-----
`

export const rootCert = `-----BEGIN CERTIFICATE-----
MIIBrzCCAVWgAwIBAgIUAV/FOmWDa5aahcwUxolGltbLamcwCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZZWZmZWN0LXJlZ2lzdHJ5IHRlc3Qgcm9vdDAgFw0yNjExMjYy
MjU3MzlaGA8yMTI2MTEwMjIyNTczOVowJDEiMCAGA1UEAwwZZWZmZWN0LXJlZ2lz
dHJ5IHRlc3Qgcm9vdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABBYXEC7VxxBj
1fqNZHGuYSJGOZyhp/BWqWzrDaNlmFMhXNJmJsoyrkRKxBDKEryqWogMX5d1xXea
PrFLFMTMSQGjYzBhMB0GA1UdDgQWBBSaEkvbNgc3VT6by/v0P9SB0zFQXjAfBgNV
HSMEGDAWgBSaEkvbNgc3VT6by/v0P9SB0zFQXjAPBgNVHRMBAf8EBTADAQH/MA4G
A1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNIADBFAiEAqUjQcZYh5txmpTUCUGpC
SxpQ/j3cXnDfgk2pKRyARWwCIFWQCQCsZuH0bUtYX7qq2chqW4cO8BouLnpu72Lh
fQGy
-----END CERTIFICATE-----
`

export const otherRootCert = `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUKD6yY4aZIVqbaFatekDV5xQz2UswCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKb3RoZXIgcm9vdDAgFw0yNjExMjYyMjU3NDBaGA8yMTI2MTEw
MjIyNTc0MFowFTETMBEGA1UEAwwKb3RoZXIgcm9vdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABDFUsO/Sl911T7tzKoAkM6EBygDXWGVtyazzHrBCIeJfa573p1Dc
NuLY7y49A7HiN7kPWln//RVG53+YDRNJtdmjUzBRMB0GA1UdDgQWBBTr1Gvuuoo9
5Pm7jpKc8Zmu4VMOnDAfBgNVHSMEGDAWgBTr1Gvuuoo95Pm7jpKc8Zmu4VMOnDAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDUPCuWKIqn7sj8gJ6W
DQ/m7PydGE/4KoHTOoWhcuvwjwIhAOMfI7EdXcmeTWBSy5tZ1B94spH6rZn2rtDD
8MtQFS32
-----END CERTIFICATE-----
`
