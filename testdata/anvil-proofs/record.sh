#!/usr/bin/env bash
# Records eth_getProof answers from a fresh anvil (npm package, see tests/package.json) for
# the verify crate's tests: a funded EOA, an account that does not exist, and an ERC-20 contract
# with a set and an unset storage slot, all at one block, with that block's header and the code.
# Run from the repository root after `npm ci --prefix tests`:  bash testdata/anvil-proofs/record.sh
set -euo pipefail
bin=tests/node_modules/.bin
out=testdata/anvil-proofs
port=18599
"$bin/anvil" --port $port --silent & pid=$!
trap 'kill $pid' EXIT
sleep 1
rpc=http://127.0.0.1:$port
key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
eoa=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
bytecode=$(node -e 'console.log(require("./tests/node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json").bytecode)')
args=$("$bin/cast" abi-encode "constructor(string,string,uint256,address)" Test TST 1000000 $eoa)
token=$("$bin/cast" send --rpc-url $rpc --private-key $key --create "$bytecode${args#0x}" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).contractAddress))')
block=$("$bin/cast" block-number --rpc-url $rpc)
hex=$(printf '0x%x' "$block")
call() { curl -s -X POST -H 'content-type: application/json' --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" $rpc | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).result,null,1)))'; }
# ERC20 (OpenZeppelin 4.9): slot 2 is totalSupply (set); slot 7 is unused.
slot_set=0x0000000000000000000000000000000000000000000000000000000000000002
slot_unset=0x0000000000000000000000000000000000000000000000000000000000000007
call eth_getBlockByNumber "[\"$hex\", false]" > $out/block.json
call eth_getProof "[\"$eoa\", [], \"$hex\"]" > $out/eoa.json
call eth_getProof "[\"0x000000000000000000000000000000000000dead\", [\"$slot_set\"], \"$hex\"]" > $out/absent.json
call eth_getProof "[\"$token\", [\"$slot_set\", \"$slot_unset\"], \"$hex\"]" > $out/token.json
call eth_getCode "[\"$token\", \"$hex\"]" > $out/token_code.json
echo "recorded block $block, token $token"
