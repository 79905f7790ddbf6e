#!/usr/bin/env bash
# Schemathesis against both OpenAPI documents a running wallet serves: the
# owner API's and the authorization server's protocol endpoints. Every
# generated request must get an answer that is not a 5xx, with a documented
# status, content type and schema.
#
# The wallet runs in a network namespace of its own with only loopback up:
# the owner API takes URLs (providers, identity services) and acts on them,
# and generated ones must never reach past this machine.
#
#   bash scripts/api-check.sh [seconds per document, default 90]
set -euo pipefail
cd "$(dirname "$0")/.."

budget=${1:-90}
venv=${SCHEMATHESIS_VENV:-$PWD/target/schemathesis}
if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi
cargo build --locked -p uma-wallet-cli --bin uma-wallet

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/run.sh" <<EOF
set -euo pipefail
# Schemathesis keeps a cache where it runs: there, not in the project.
cd "$work"
ip link set lo up
export UMA_WALLET_PASSPHRASE="schemathesis is not a passphrase"
$PWD/target/debug/uma-wallet --data-dir "$work/wallet" init > /dev/null
$PWD/target/debug/uma-wallet --data-dir "$work/wallet" --backup-dir "$work/backups" serve --listen 127.0.0.1:0 > "$work/ready.json" 2> "$work/serve.log" &
server=\$!
trap 'kill \$server 2>/dev/null || true' EXIT
for _ in \$(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
owner_api=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["owner_api"])' "$work/ready.json")
issuer=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuer"])' "$work/ready.json")
token=\$(cat "$work/wallet/owner-token")
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
status=0
echo "== the owner API (\$owner_api)"
# The event stream never ends: a request to it cannot complete.
"$venv/bin/st" run "\$owner_api/openapi.json" -H "Authorization: Bearer \$token" --checks "\$checks" \
    --exclude-path /events --max-time "$budget" --request-timeout 20 --seed 1 || status=1
echo "== the authorization server (\$issuer)"
"$venv/bin/st" run "\$issuer/openapi.json" --checks "\$checks" --max-time "$budget" --request-timeout 20 --seed 1 || status=1
# The protection API again, as a resource server the owner connected: with
# a PAT, requests get past authentication to the endpoints' own checks.
pat=\$(python3 - "\$owner_api" "\$token" "\$issuer" <<'PY'
import json, sys, urllib.parse, urllib.request
owner_api, token, issuer = sys.argv[1:]
minted = urllib.request.Request(owner_api + "/assertions", data=json.dumps({"resource_server": "https://provider.example"}).encode(),
                                headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
assertion = json.load(urllib.request.urlopen(minted))["assertion"]
form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}).encode()
print(json.load(urllib.request.urlopen(issuer + "/token", data=form))["access_token"])
PY
)
echo "== the protection API, with a PAT"
"$venv/bin/st" run "\$issuer/openapi.json" -H "Authorization: Bearer \$pat" --include-path-regex '^/(resource_set|permission|introspect)' \
    --checks "\$checks" --max-time "$budget" --request-timeout 20 --seed 1 || status=1
exit \$status
EOF
unshare --net bash "$work/run.sh"
