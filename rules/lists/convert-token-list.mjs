// Converts a token list (https://tokenlists.org schema) into rules/lists/tokens.json, the
// compact form Airlock ships: [chainId, address, symbol, decimals] per token.
// Usage (from the repository root):
//   npm ci --prefix tests && node rules/lists/convert-token-list.mjs \
//     tests/node_modules/@uniswap/default-token-list/build/uniswap-default.tokenlist.json > rules/lists/tokens.json
import fs from 'node:fs';

const list = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const v = list.version;
const tokens = list.tokens
  .filter((t) => /^0x[0-9a-fA-F]{40}$/.test(t.address) && typeof t.symbol === 'string')
  .map((t) => [t.chainId, t.address.toLowerCase(), t.symbol, t.decimals])
  .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
const out = { source: `${list.name} ${v.major}.${v.minor}.${v.patch}`, tokens };
process.stdout.write('{"source": ' + JSON.stringify(out.source) + ', "tokens": [\n' +
  tokens.map((t) => JSON.stringify(t)).join(',\n') + '\n]}\n');
