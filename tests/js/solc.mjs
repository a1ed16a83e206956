// Compiles a Solidity file with solc-js (npm `solc`) and prints
// {"ContractName": {"bytecode": "0x...", "abi": [...]}, ...} as JSON.
// Usage: node solc.mjs path/to/File.sol
import fs from 'node:fs';
import path from 'node:path';
import solc from 'solc';

const file = process.argv[2];
const input = {
  language: 'Solidity',
  sources: { [path.basename(file)]: { content: fs.readFileSync(file, 'utf8') } },
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun',
              outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join('\n'));
  process.exit(1);
}
const result = {};
for (const contracts of Object.values(out.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    result[name] = { bytecode: '0x' + c.evm.bytecode.object, abi: c.abi };
  }
}
process.stdout.write(JSON.stringify(result));
