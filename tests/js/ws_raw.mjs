// Sends each text frame given (a JSON array of strings, argv[3]) over one WebSocket to argv[2],
// one at a time, and prints one JSON line per frame: {"sent": i, "reply": <the text answered, or
// null after 3 s of silence>}. Used to check how the WebSocket side answers bad input.
import WebSocket from "ws";

const [url, framesJson] = process.argv.slice(2);
const frames = JSON.parse(framesJson);
const ws = new WebSocket(url, { headers: { Host: new URL(url).host } });
await new Promise((ok, fail) => { ws.once("open", ok); ws.once("error", fail); });
const replies = [];
let waiting = null;
ws.on("message", (data) => {
  replies.push(data.toString());
  if (waiting) { const w = waiting; waiting = null; w(); }
});
for (let i = 0; i < frames.length; i++) {
  const before = replies.length;
  ws.send(frames[i]);
  await new Promise((ok) => {
    waiting = ok;
    setTimeout(() => { if (waiting === ok) { waiting = null; ok(); } }, 3000);
  });
  console.log(JSON.stringify({ sent: i, reply: replies.length > before ? replies[replies.length - 1] : null }));
}
ws.close();
