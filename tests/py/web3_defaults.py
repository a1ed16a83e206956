"""web3.py exactly as a new user writes it: Web3(HTTPProvider(url)) with its defaults, a local
account, send_raw_transaction, then wait_for_transaction_receipt with its defaults. One
transaction per STEP; a JSON line when each is sent and when its wait ends.

Usage: python3 web3_defaults.py RPC_URL PRIVATE_KEY TO STEP...
"""
import json
import sys

from web3 import Web3

url, key, to, *steps = sys.argv[1:]
w3 = Web3(Web3.HTTPProvider(url))
account = w3.eth.account.from_key(key)
for step in steps:
    tx_hash = None
    try:
        nonce = w3.eth.get_transaction_count(account.address, "pending")
        tx = {
            "to": Web3.to_checksum_address(to),
            "value": 1,
            "nonce": nonce,
            "chainId": w3.eth.chain_id,
            "gas": 21000,
            "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + w3.eth.max_priority_fee,
            "maxPriorityFeePerGas": w3.eth.max_priority_fee,
        }
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction).to_0x_hex()
        print(json.dumps({"step": step, "event": "sent", "hash": tx_hash}), flush=True)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        status = "success" if receipt["status"] == 1 else "reverted"
        print(json.dumps({"step": step, "event": "mined", "hash": tx_hash, "status": status, "nonce": nonce}), flush=True)
    except Exception as e:  # the client's own error, whatever its class
        err = e.args[0] if e.args and isinstance(e.args[0], dict) else getattr(e, "rpc_response", {}).get("error", {})
        data = err.get("data") if isinstance(err, dict) else None
        print(json.dumps({
            "step": step, "event": "failed", "hash": tx_hash,
            "code": err.get("code") if isinstance(err, dict) else None,
            "id": data.get("id") if isinstance(data, dict) else None,
            "message": str(e)[:300],
        }), flush=True)
