#!/usr/bin/env bash
# The pension wallet's story in under a minute, on loopback only: a signed
# governance registry, an identity service, two pension providers, one
# wallet; Alice proves who she
# is (identity credential), find with proof, offers, accept (credential
# issued), a dashboard asks, the owner approves, the dashboard reads what was
# approved.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p uma-wallet-cli -p pension-provider -p identity-service -p registry -p verifier
cargo build --quiet -p e2e --bin adviser-client
bin=target/debug
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

export UMA_WALLET_PASSPHRASE="demo passphrase, not for real use"
export UMA_WALLET_DATA_DIR="$work/wallet"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wallet() { "$bin/uma-wallet" "$@"; }

say "Alice's wallet starts: her own UMA authorization server"
wallet init >/dev/null
# Started directly, not through wallet(): $! must be the server itself,
# or the cleanup kills a subshell and leaves the server running.
"$bin/uma-wallet" serve --listen 127.0.0.1:0 >"$work/wallet.json" 2>"$work/wallet.err" & pids+=($!)
until [ -s "$work/wallet.json" ]; do sleep 0.1; done
issuer=$(field "$(cat "$work/wallet.json")" "['issuer']")
echo "issuer: $issuer"

say "An identity service (standing for GOV.UK One Login)"
"$bin/identity-service" serve >"$work/identity.json" 2>"$work/identity.mail" & pids+=($!)
until [ -s "$work/identity.json" ]; do sleep 0.1; done
identity=$(field "$(cat "$work/identity.json")" "['url']")
echo "identity service: $identity"

say "The governance registry lists them, signed with the registry's key"
registry() { "$bin/registry" "$@"; }
registry_key=$(registry keygen --out "$work/registry.key")
registry new --name "Pensions governance registry (reference)" --out "$work/registry.json" >/dev/null
registry add "$work/registry.json" --role authorization-server --id "$issuer" --name "Alice's wallet" >/dev/null
registry add "$work/registry.json" --role identity-issuer --id "$identity" --name "Reference Identity Service" \
    --jwks-url "$identity/.well-known/jwt-vc-issuer" >/dev/null
registry sign "$work/registry.json" --key "$work/registry.key" --out "$work/registry-1.jws"

say "Two pension providers that trust what the registry lists"
declare -A provider
for name in acme northwind; do
    "$bin/pension-provider" serve --fixtures "$name" --registry "$work/registry-1.jws" --registry-key "$registry_key" \
        >"$work/$name.json" 2>/dev/null & pids+=($!)
    until [ -s "$work/$name.json" ]; do sleep 0.1; done
    provider[$name]=$(field "$(cat "$work/$name.json")" "['url']")
    registry add "$work/registry.json" --role pension-provider --id "${provider[$name]}" \
        --name "$(field "$(cat "$work/$name.json")" "['provider_name']")" >/dev/null
    echo "$name: ${provider[$name]}"
done
registry sign "$work/registry.json" --key "$work/registry.key" --out "$work/registry-2.jws" >/dev/null

say "Alice's wallet trusts the registry's key and imports its next edition"
wallet registry trust "$registry_key" >/dev/null
wallet registry import "$work/registry-2.jws" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print("  %s, edition %d: %d providers added" % (r["governance"]["registry"]["name"], r["governance"]["registry"]["version"], len(r["providers"])))'

say "Alice proves who she is: she signs in at the identity service in her browser"
wallet identity get --issuer "$identity" >"$work/sign-in.json" 2>/dev/null & signing_in=$!
until [ -s "$work/sign-in.json" ]; do sleep 0.1; done
page=$(field "$(head -n1 "$work/sign-in.json")" "['authorize_url']")
# Her browser, scripted: the sign-in form, her email address, the code the
# service emailed her (here, a line in its log), and back to the wallet.
session=$(curl -s "$page" | sed -nE 's/.*name="session" value="([^"]+)".*/\1/p' | head -n1)
curl -s -o /dev/null "$identity/login" --data-urlencode "session=$session" --data-urlencode "email=alice@example.com"
code=$(grep '"one_time_code"' "$work/identity.mail" | tail -n1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["code"])')
back=$(curl -s -o /dev/null -w '%{redirect_url}' "$identity/verify" --data-urlencode "session=$session" --data-urlencode "code=$code")
curl -s -o /dev/null "$back"
wait "$signing_in"
tail -n +2 "$work/sign-in.json" | python3 -c 'import json,sys; c=json.load(sys.stdin); print("  identity credential: %s %s, born %s, from %s" % (c["given_name"], c["family_name"], c["birthdate"], c["issuer_name"]))'

say "Find with proof: each provider gets only name, date of birth, postcode and NINO, for it alone"
wallet find | python3 -c 'import json,sys; [print("  %s: %s" % (p["name"] or p["url"], p["outcome"])) for p in json.load(sys.stdin)]'

say "Offers: pensions not yet protected by the wallet"
offers=$(wallet offers)
python3 -c 'import json,sys; [print("  %s (%s)" % (o["scheme"], o["pei"])) for o in json.loads(sys.argv[1])["offers"]]' "$offers"

say "Accept every offer: each provider registers the pension here and issues a credential"
python3 -c 'import json,sys; [print(o["provider"], o["resource_id"]) for o in json.loads(sys.argv[1])["offers"]]' "$offers" |
while read -r url rid; do
    wallet accept --provider "$url" "$rid" | python3 -c 'import json,sys; a=json.load(sys.stdin); print("  %s: credential %s" % (a["pei"], a.get("credential", {}).get("status", a.get("credential_error"))))'
done
wallet credentials list | python3 -c 'import json,sys; print("  %d credentials held" % len(json.load(sys.stdin)))'

say "Alice's own view, read through UMA"
wallet pensions | python3 -c 'import json,sys; p=json.load(sys.stdin); [print("  %s: about £{:,} a year".format(x["estimated_annual_income"]) % x["scheme"]) for x in p["pensions"]]; print("  total: about £{:,} a year".format(p["totals"]["estimated_annual_income"]))'

say "A family dashboard asks for the Acme DB pension, with values"
asset=a1c0ffee-0001-4000-8000-000000000001
view="${provider[acme]}/pensions/$asset?include=value"
challenge=$(curl -s -o /dev/null -D - "$view" | tr -d '\r' | grep -i '^www-authenticate:')
echo "  provider says: ${challenge:0:90}..."
ticket=$(sed -E 's/.*ticket="([^"]+)".*/\1/' <<<"$challenge")
client=$(curl -s -X POST "$issuer/register" -H 'content-type: application/json' -d '{"client_name":"Family dashboard"}')
id=$(field "$client" "['client_id']"); secret=$(field "$client" "['client_secret']")
answer=$(curl -s -u "$id:$secret" "$issuer/token" -d grant_type=urn:ietf:params:oauth:grant-type:uma-ticket -d "ticket=$ticket")
echo "  wallet says: $(field "$answer" "['error']") (Alice decides; the dashboard polls)"
ticket=$(field "$answer" "['ticket']")

say "Alice approves the administrative data only, not the values"
request=$(wallet pending list)
rid=$(field "$request" "[0]['permissions'][0]['resource_id']")
wallet pending approve "$(field "$request" "[0]['id']")" --scope "$rid:owner" >/dev/null
echo "  approved: owner"

say "The dashboard polls, gets its token, and reads what was approved"
answer=$(curl -s -u "$id:$secret" "$issuer/token" -d grant_type=urn:ietf:params:oauth:grant-type:uma-ticket -d "ticket=$ticket")
rpt=$(field "$answer" "['access_token']")
echo "  with values: HTTP $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $rpt" "$view") (not approved)"
curl -s -H "Authorization: Bearer $rpt" "${provider[acme]}/pensions/$asset" |
    python3 -c 'import json,sys; p=json.load(sys.stdin)["pension"]; print("  without: %s, %s, employed at %s" % (p["schemeName"], p["pensionAdministrator"]["name"], p["employmentMembershipPeriods"][0]["employerName"]))'

say "The dashboard holds a credential of what it was granted; anyone can check it"
curl -s -u "$id:$secret" "$issuer/access-grants" -d "rpt=$rpt" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"][0]["credential"])' >"$work/grant.jwt"
"$bin/vc-verify" "$work/grant.jwt" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["credential"]["credentialSubject"]; print("  independent verifier: valid, %s may see %s (%s), signed by %s..." % (s["client"]["name"], s["resource"]["description"], ", ".join(s["scopes"]), r["issuer"][:24]))'

say "Alice revokes the access: the same credential now fails everywhere"
wallet grants revoke "$(field "$(wallet grants list)" "[0]['id']")" >/dev/null
"$bin/vc-verify" "$work/grant.jwt" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  independent verifier: valid=%s (%s)" % (r["valid"], r["reason"]))' || true
echo "  the dashboard reads again: HTTP $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $rpt" "${provider[acme]}/pensions/$asset")"

say "An adviser asks: Alice's rule lets in any adviser a listed regulator vouches for, for 30 days"
registry add "$work/registry.json" --role regulator --id "$identity/regulator" --name "Reference Financial Conduct Regulator" \
    --jwks-url "$identity/.well-known/jwt-vc-issuer/regulator" >/dev/null
registry sign "$work/registry.json" --key "$work/registry.key" --out "$work/registry-3.jws" >/dev/null
wallet registry import "$work/registry-3.jws" >/dev/null
wallet policy add --resource "$rid" --scope owner --scope value --credential-type AdviserCredential --verified-only \
    --days 30 --outcome permit >/dev/null
# Bob's platform: signs him in at the regulator (his code from his mailbox),
# presents his adviser credential for this request, reads, keeps its grant.
"$bin/adviser-client" --identity "$identity" --email bob@adviser.example --mailbox "$work/identity.mail" \
    --view "$view" --grant-out "$work/adviser-grant.jwt" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print("  the adviser reads %s with values: %s (scopes %s)" % (r["scheme"], r["values"], ", ".join(r["scopes"])))'
"$bin/vc-verify" "$work/adviser-grant.jwt" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["credential"]["credentialSubject"]; print("  independent verifier: valid, %s may see %s (%s) until %s" % (s["client"]["name"], s["resource"]["description"], ", ".join(s["scopes"]), r["credential"]["validUntil"]))'
wallet grants revoke "$(wallet grants list | python3 -c 'import json,sys; print([g for g in json.load(sys.stdin) if g["active"] and "value" in g["scopes"]][0]["id"])')" >/dev/null
"$bin/vc-verify" "$work/adviser-grant.jwt" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  after Alice revokes it: valid=%s (%s)" % (r["valid"], r["reason"]))' || true

say "Every decision is in the tamper-evident audit log"
wallet audit verify
