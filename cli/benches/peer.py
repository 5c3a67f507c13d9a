#!/usr/bin/env python3
"""The peers' runtime model, for the benchmark (bench/main.rs).

Python SOAR integrations run each action as a fresh Python process using
`requests`. This is the smallest such action: Zoom's Server-to-Server token
request, then GET /v2/users/me with the token, the user printed as JSON --
what `soar-host invoke RESOURCE get_user -p user_id=me` does.

Usage: peer.py BASE_URL CLIENT_ID ACCOUNT_ID, with the client secret in
$ZOOM_CLIENT_SECRET; BASE_URL ends with / and serves oauth/token and v2/.
"""

import json
import os
import sys

import requests


def main():
    base, client_id, account_id = sys.argv[1:4]
    secret = os.environ["ZOOM_CLIENT_SECRET"]
    token = requests.post(
        f"{base}oauth/token",
        params={"grant_type": "account_credentials", "account_id": account_id},
        auth=(client_id, secret),
        headers={"Accept": "application/json"},
        timeout=20,
    )
    token.raise_for_status()
    user = requests.get(
        f"{base}v2/users/me",
        headers={
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Accept": "application/json",
        },
        timeout=20,
    )
    user.raise_for_status()
    print(json.dumps(user.json(), indent=2))


if __name__ == "__main__":
    main()
