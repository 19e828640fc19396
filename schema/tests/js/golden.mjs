// Golden vectors for Kairos' protobuf realtime codec (kairos_schema::proto),
// made and read by the real client: @heroiclabs/nakama-js's DefaultSocket
// with @heroiclabs/nakama-js-protobuf's WebSocketAdapterPb, unchanged. Only
// the WebSocket is fake: it records the binary frames the adapter sends and
// hands it the frames we give it.
//
//   npm ci --ignore-scripts
//   node golden.mjs encode            # client envelopes, one JSON line each
//   node golden.mjs decode HEX...     # server envelopes as the adapter
//                                     # hands them to the socket
//
// The server frames come from Kairos' encoder:
//   cargo test -p kairos-schema --test proto_golden -- --ignored --nocapture print_server_vectors
// and the output of both modes is pinned in schema/tests/proto_golden.rs.
//
// In the decoded JSON, bytes are {"$bytes": "<hex>"}, Dates are
// {"$date": "<ISO string>"}, and fields the decoder left undefined are null.

import { DefaultSocket } from "@heroiclabs/nakama-js";
import { WebSocketAdapterPb } from "@heroiclabs/nakama-js-protobuf";

/** The sockets the adapter opened, newest last. */
const opened = [];

globalThis.WebSocket = class FakeWebSocket {
  static OPEN = 1;
  static CLOSED = 3;

  constructor(url) {
    this.url = url;
    this.readyState = FakeWebSocket.OPEN;
    this.binaryType = "blob";
    this.sent = [];
    opened.push(this);
  }

  send(frame) {
    this.sent.push(frame);
  }

  close() {
    this.readyState = FakeWebSocket.CLOSED;
  }
};

const hex = (bytes) => Buffer.from(bytes).toString("hex");

function fromHex(text) {
  const b = Buffer.from(text, "hex");
  // The adapter expects an ArrayBuffer (binaryType "arraybuffer").
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

function show(value) {
  return JSON.stringify(value, function (key, v) {
    const raw = this[key];
    if (raw instanceof Date) return { $date: isNaN(raw) ? "Invalid Date" : raw.toISOString() };
    if (raw instanceof Uint8Array) return { $bytes: hex(raw) };
    if (v === undefined) return null;
    return v;
  });
}

async function encode() {
  const adapter = new WebSocketAdapterPb();
  const socket = new DefaultSocket("127.0.0.1", "7350", false, false, adapter);
  const connected = socket.connect({ token: "t" }, false);
  const ws = opened[opened.length - 1];
  ws.onopen({}); // the socket sends its first ping now
  await connected;

  const frames = [];
  let seen = 0;
  const take = (name) => {
    for (; seen < ws.sent.length; seen++) {
      frames.push({ name, hex: hex(ws.sent[seen]) });
    }
  };
  // Requests that wait for a reply never get one here: drop their promises.
  const fire = (name, promise) => {
    promise.catch(() => {});
    take(name);
  };

  take("ping");
  const presence = { user_id: "u1", session_id: "s1", username: "alice" };
  fire("match_data_send", socket.sendMatchState("m1.", 7, new Uint8Array([1, 2, 3, 0xff]), [presence], true));
  fire("match_data_send_text", socket.sendMatchState("m1.", 2 ** 40, "hello"));
  fire("match_data_send_negative", socket.sendMatchState("m1.", -1, new Uint8Array([])));
  fire("channel_join_room", socket.joinChat("lobby", 1, true, false));
  fire("channel_join_dm", socket.joinChat("u2", 2, false, true));
  fire("channel_message_send", socket.writeChatMessage("2...lobby", { hello: "world" }));
  fire("channel_message_update", socket.updateChatMessage("2...lobby", "msg1", { n: 2 }));
  fire("channel_message_remove", socket.removeChatMessage("2...lobby", "msg1"));
  fire("channel_leave", socket.leaveChat("2...lobby"));
  fire("status_follow", socket.followUsers(["u1", "u2"]));
  fire("status_follow_usernames", socket.send({ status_follow: { user_ids: [], usernames: ["bob"] } }));
  fire("status_unfollow", socket.unfollowUsers(["u1"]));
  fire("status_update", socket.updateStatus("busy"));
  fire("status_update_offline", socket.updateStatus());
  fire("match_create", socket.createMatch());
  fire("match_create_named", socket.createMatch("arena"));
  fire("match_join", socket.joinMatch("m1.", undefined, { k: "v" }));
  fire("match_join_token", socket.joinMatch(undefined, "tok"));
  fire("match_leave", socket.leaveMatch("m1."));
  fire("rpc", socket.rpc("echo", "{}"));
  fire("party_create", socket.createParty(true, 4));
  fire("matchmaker_add", socket.addMatchmaker("*", 2, 4, { mode: "x" }, { skill: 1.5 }));

  console.log(show({ url: ws.url, binaryType: ws.binaryType }));
  for (const f of frames) console.log(show(f));
}

function decode(hexes) {
  const adapter = new WebSocketAdapterPb();
  adapter.connect("ws://", "127.0.0.1", "7350", false, "t");
  const ws = opened[opened.length - 1];
  let received;
  adapter.onMessage = (envelope) => {
    received = envelope;
  };
  for (const h of hexes) {
    received = undefined;
    try {
      ws.onmessage({ data: fromHex(h) });
      console.log(show({ hex: h, envelope: received }));
    } catch (e) {
      console.log(show({ hex: h, error: String(e && e.message ? e.message : e) }));
    }
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "encode") {
  await encode();
} else if (mode === "decode") {
  decode(rest);
} else {
  console.error("usage: node golden.mjs encode | decode HEX...");
  process.exit(2);
}
// The socket's heartbeat and send timers would keep the process alive.
process.exit(0);
