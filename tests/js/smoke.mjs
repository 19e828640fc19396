// A new user's first session with Kairos, through the official Nakama
// JavaScript client, unchanged. Run against a server on 127.0.0.1:7350:
//
//   cargo run --release            (in another terminal)
//   cd tests/js && npm install && node smoke.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY point it elsewhere.
// Exits non-zero, saying which step failed, if anything does not work.

import { Client } from "@heroiclabs/nakama-js";
import { assert, check, fail, client, host, port, serverKey, unique } from "./common.mjs";

async function errorStatus(promise) {
  try {
    await promise;
  } catch (e) {
    return e.status ?? e;
  }
  return "no error";
}

try {
  const device = await check("authenticateDevice", async () => {
    const s = await client.authenticateDevice(`smoke-device-${unique}`, true, `smoke_${unique}`, { platform: "node" });
    assert(s.created === true, "new account should be created");
    assert(s.username === `smoke_${unique}`, `username from token: ${s.username}`);
    assert(s.vars.platform === "node", "vars come back in the token");
    return s;
  });

  await check("authenticateDevice again (existing account)", async () => {
    const s = await client.authenticateDevice(`smoke-device-${unique}`, true);
    assert(s.user_id === device.user_id, "same account");
    assert(!s.created, "not created twice");
  });

  const email = await check("authenticateEmail", async () => {
    const s = await client.authenticateEmail(`smoke.${unique}@example.com`, "a long password", true);
    assert(s.created === true, "created");
    const again = await client.authenticateEmail(`smoke.${unique}@example.com`, "a long password", false);
    assert(again.user_id === s.user_id, "login finds the same account");
    const wrong = await errorStatus(client.authenticateEmail(`smoke.${unique}@example.com`, "wrong password!", false));
    assert(wrong === 401, `wrong password gives 401, got ${wrong}`);
    return s;
  });

  await check("getAccount", async () => {
    const a = await client.getAccount(device);
    assert(a.user.id === device.user_id, "account id");
    assert(a.devices[0].id === `smoke-device-${unique}`, "device listed");
    assert(a.user.lang_tag === "en", "default language");
  });

  await check("updateAccount", async () => {
    await client.updateAccount(device, { display_name: "Smoke Tester", location: "Lisbon", timezone: "Europe/Lisbon" });
    const a = await client.getAccount(device);
    assert(a.user.display_name === "Smoke Tester", `display_name: ${a.user.display_name}`);
    assert(a.user.location === "Lisbon", "location");
  });

  const refreshed = await check("sessionRefresh", async () => {
    const s = await client.sessionRefresh(email);
    assert(s.user_id === email.user_id, "same user");
    assert(s.token && s.refresh_token, "new tokens");
    await client.getAccount(s);
    return s;
  });

  await check("socket connect and ping", async () => {
    const socket = client.createSocket(false, false);
    await socket.connect(device, true);
    const reply = await socket.send({ ping: {} });
    assert(reply.pong !== undefined, `pong: ${JSON.stringify(reply)}`);
    socket.disconnect(false);
  });

  await check("relayed match between two clients", async () => {
    const other = await client.authenticateDevice(`smoke-device-b-${unique}`, true);
    const a = client.createSocket(false, false);
    const b = client.createSocket(false, false);
    await a.connect(device, true);
    await b.connect(other, true);
    const waitFor = (socket, event, pred = () => true) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} in time`)), 5000);
        socket[event] = (msg) => {
          if (pred(msg)) {
            clearTimeout(timer);
            resolve(msg);
          }
        };
      });
    // As in Nakama, every member hears of a join, the joiner included.
    const ownCreate = waitFor(a, "onmatchpresence", (e) => (e.joins ?? []).some((p) => p.user_id === device.user_id));
    const match = await a.createMatch();
    assert(match.match_id.endsWith("."), `relayed match id: ${match.match_id}`);
    await ownCreate;
    const joinSeen = waitFor(a, "onmatchpresence", (e) => (e.joins ?? []).some((p) => p.user_id === other.user_id));
    const ownJoin = waitFor(b, "onmatchpresence", (e) => (e.joins ?? []).some((p) => p.user_id === other.user_id));
    const joined = await b.joinMatch(match.match_id);
    assert(joined.presences.some((p) => p.user_id === device.user_id), "the joiner sees the creator");
    assert(!joined.presences.some((p) => p.user_id === other.user_id), "a new joiner is not in its own list");
    await joinSeen;
    await ownJoin;
    const again = await b.joinMatch(match.match_id);
    assert(Array.isArray(again.presences) && again.presences.length === 2, `joining again lists everyone: ${JSON.stringify(again)}`);

    const toB = waitFor(b, "onmatchdata");
    await a.sendMatchState(match.match_id, 7, "hello from a");
    const got = await toB;
    assert(got.op_code === 7, `op_code ${got.op_code}`);
    assert(new TextDecoder().decode(got.data) === "hello from a", "payload");
    assert(got.presence.user_id === device.user_id, "sender presence");

    const toA = waitFor(a, "onmatchdata");
    await b.sendMatchState(match.match_id, 8, new Uint8Array([1, 2, 3]), undefined, true);
    const back = await toA;
    assert(back.op_code === 8 && back.data.length === 3 && back.data[2] === 3, "binary data back");

    const leaveSeen = waitFor(a, "onmatchpresence", (e) => (e.leaves ?? []).some((p) => p.user_id === other.user_id));
    await b.leaveMatch(match.match_id);
    await leaveSeen;
    a.disconnect(false);
    b.disconnect(false);
  });

  await check("sessionLogout", async () => {
    await client.sessionLogout(refreshed, refreshed.token, refreshed.refresh_token);
    const noAuto = new Client(serverKey, host, port, false, 7000, false);
    const status = await errorStatus(noAuto.getAccount(refreshed));
    assert(status === 401, `a logged-out session is refused, got ${status}`);
  });

  console.log("all nakama-js checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
