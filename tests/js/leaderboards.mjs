// Leaderboards through the official Nakama JavaScript client, unchanged:
// a board created by game code (the example RPC
// example.leaderboard_create), writeLeaderboardRecord from three players,
// listLeaderboardRecords with its cursor and owner ids,
// listLeaderboardRecordsAroundOwner, an authoritative board refusing a
// client, and deleteLeaderboardRecord (through the client's generated
// API, client.apiClient, as the Client class has no wrapper for it). Run against a server on
// 127.0.0.1:7350 with the examples:
//
//   cargo run --release -- --kairos.runtime.examples true     (another terminal)
//   cd tests/js && npm install && node leaderboards.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY point it elsewhere. Exits
// non-zero, saying which step failed, if anything does not work.

import { assert, check, fail, client, unique } from "./common.mjs";

async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a refusal");
}

try {
  const players = [];
  for (const name of ["a", "b", "c"]) {
    players.push(await check(`authenticate player ${name}`, () => client.authenticateDevice(`lb-${name}-${unique}`, true)));
  }
  const [a, b, c] = players;
  const board = `weekly_${unique}`;
  const locked = `locked_${unique}`;

  await check("game code creates the boards", async () => {
    await client.rpc(a, "example.leaderboard_create", { id: board, sort_order: "desc", operator: "best", reset_schedule: "0 0 * * 1" });
    await client.rpc(a, "example.leaderboard_create", { id: locked, authoritative: true });
  });

  await check("writeLeaderboardRecord keeps each player's best", async () => {
    const first = await client.writeLeaderboardRecord(a, board, { score: 100, subscore: 1, metadata: { car: "red" } });
    assert(first.score === 100 && first.subscore === 1 && first.num_score === 1 && first.rank === 1, JSON.stringify(first));
    assert(first.metadata.car === "red" && first.owner_id === a.user_id && first.expiry_time, JSON.stringify(first));
    const worse = await client.writeLeaderboardRecord(a, board, { score: 50 });
    assert(worse.score === 100 && worse.num_score === 1, JSON.stringify(worse));
    const b1 = await client.writeLeaderboardRecord(b, board, { score: 300 });
    assert(b1.rank === 1, JSON.stringify(b1));
    const c1 = await client.writeLeaderboardRecord(c, board, { score: 200 });
    assert(c1.rank === 2, JSON.stringify(c1));
  });

  await check("listLeaderboardRecords pages through the cursor, ranked", async () => {
    const seen = [];
    let cursor;
    for (let i = 0; i < 5; i++) {
      const page = await client.listLeaderboardRecords(a, board, undefined, 2, cursor);
      assert(page.rank_count === 3, JSON.stringify(page));
      seen.push(...page.records.map((r) => `${r.rank}:${r.score}:${r.owner_id === b.user_id ? "b" : r.owner_id === c.user_id ? "c" : "a"}`));
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    assert(seen.join() === "1:300:b,2:200:c,3:100:a", seen.join());
  });

  await check("listLeaderboardRecords with owner ids ranks them", async () => {
    const r = await client.listLeaderboardRecords(a, board, [a.user_id, c.user_id], 1);
    assert(r.records.length === 1 && r.records[0].score === 300, JSON.stringify(r));
    const owners = r.owner_records.map((o) => `${o.rank}:${o.score}`).join();
    assert(owners === "2:200,3:100", owners);
  });

  await check("listLeaderboardRecordsAroundOwner centres on the owner", async () => {
    const r = await client.listLeaderboardRecordsAroundOwner(a, board, c.user_id, 3);
    const ranks = r.records.map((o) => `${o.rank}:${o.score}`).join();
    assert(ranks === "1:300,2:200,3:100", ranks);
  });

  await check("an authoritative board refuses a client's write", async () => {
    const e = await refusal(client.writeLeaderboardRecord(a, locked, { score: 1 }));
    assert(e.status === 403, `status ${e.status}`);
  });

  await check("deleteLeaderboardRecord removes one's own record", async () => {
    // nakama-js's Client has no wrapper for it; its generated API does.
    await client.apiClient.deleteLeaderboardRecord(b.token, board);
    const r = await client.listLeaderboardRecords(a, board, undefined, 10);
    const ranks = r.records.map((o) => `${o.rank}:${o.score}`).join();
    assert(ranks === "1:200,2:100" && r.rank_count === 2, ranks);
  });

  console.log("all nakama-js leaderboard checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
