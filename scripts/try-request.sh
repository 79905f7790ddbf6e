#!/usr/bin/env bash
# A family dashboard asking for one of your pensions, for trying the
# wallet's inbox: it asks the provider, takes the ticket to your wallet,
# then polls every few seconds until you approve or deny in the app, and
# shows what it was allowed to read. Needs curl and python3.
#   scripts/try-request.sh [provider URL] [pension id]
set -euo pipefail

provider="${1:-http://127.0.0.1:8101}"
pension="${2:-a1c0ffee-0001-4000-8000-000000000001}"   # Acme's defined benefit scheme
view="$provider/pensions/$pension?include=value"
field() { python3 -c "import json,sys; v=json.loads(sys.argv[1]); print(v$2 if v is not None else '')" "$1" 2>/dev/null || true; }

challenge=$(curl -s -o /dev/null -D - "$view" | tr -d '\r' | grep -i '^www-authenticate:' || true)
[ -n "$challenge" ] || { echo "no UMA challenge from $view: is the pension protected by your wallet yet?" >&2; exit 1; }
issuer=$(sed -E 's/.*as_uri="([^"]+)".*/\1/' <<<"$challenge")
ticket=$(sed -E 's/.*ticket="([^"]+)".*/\1/' <<<"$challenge")
client=$(curl -s -X POST "$issuer/register" -H 'content-type: application/json' -d '{"client_name":"Family dashboard","purpose":"Show our family our retirement income in one place"}')
id=$(field "$client" "['client_id']"); secret=$(field "$client" "['client_secret']")
echo "Asked your wallet at $issuer; approve or deny \"Family dashboard\" in the app's Requests."
while :; do
    answer=$(curl -s -u "$id:$secret" "$issuer/token" -d grant_type=urn:ietf:params:oauth:grant-type:uma-ticket -d "ticket=$ticket")
    rpt=$(field "$answer" "['access_token']")
    [ -n "$rpt" ] && break
    error=$(field "$answer" "['error']")
    case "$error" in
        request_submitted)
            ticket=$(field "$answer" "['ticket']")
            interval=$(field "$answer" "['interval']")
            sleep "${interval:-5}" ;;
        *) echo "the wallet said: $answer"; exit 1 ;;
    esac
done
echo "Approved. With the values: HTTP $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $rpt" "$view")"
curl -s -H "Authorization: Bearer $rpt" "$provider/pensions/$pension" |
    python3 -c 'import json,sys; p=json.load(sys.stdin)["pension"]; print("Without: %s, run by %s" % (p["schemeName"], p["pensionAdministrator"]["name"]))'
