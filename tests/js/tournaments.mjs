// Tournaments through the official Nakama JavaScript client, unchanged:
// tournaments created by game code (the example RPC
// example.tournament_create), listTournaments by category, joinTournament
// (a full tournament refusing one more player), writeTournamentRecord
// (refused before a join and past max_num_score),
// listTournamentRecords with its cursor and owner ids, and
// listTournamentRecordsAroundOwner. Run against a server on
// 127.0.0.1:7350 with the examples:
//
//   cargo run --release -- --kairos.runtime.examples true     (another terminal)
//   cd tests/js && npm install && node tournaments.mjs
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
  for (const name of ["a", "b", "c", "d"]) {
    players.push(await check(`authenticate player ${name}`, () => client.authenticateDevice(`tn-${name}-${unique}`, true)));
  }
  const [a, b, c, d] = players;
  const cup = `cup_${unique}`;
  // A category of its own for this run (0-127).
  const category = 100 + (Date.now() % 28);

  await check("game code creates the tournament", async () => {
    await client.rpc(a, "example.tournament_create", {
      id: cup, title: "Cup", description: "Weekend cup", category, sort_order: "desc", operator: "best",
      duration: 3600, max_size: 3, max_num_score: 3, join_required: true,
    });
  });

  await check("listTournaments finds it by category, with its window", async () => {
    let found;
    let cursor;
    for (let i = 0; i < 100 && !found; i++) {
      const page = await client.listTournaments(a, category, category, undefined, undefined, 1, cursor);
      found = page.tournaments.find((t) => t.id === cup);
      cursor = page.cursor;
      if (!cursor) break;
    }
    assert(found, "not listed");
    assert(found.title === "Cup" && found.category === category && found.max_size === 3, JSON.stringify(found));
    assert(found.can_enter === true && found.duration === 3600 && found.end_active > 0, JSON.stringify(found));
  });

  await check("writeTournamentRecord before joining is refused", async () => {
    const e = await refusal(client.writeTournamentRecord(a, cup, { score: 1 }));
    assert(e.status === 400, `status ${e.status}`);
  });

  await check("joinTournament admits three players, then refuses a fourth", async () => {
    for (const p of [a, b, c]) {
      assert(await client.joinTournament(p, cup), "join");
    }
    assert(await client.joinTournament(a, cup), "joining twice is fine");
    const e = await refusal(client.joinTournament(d, cup));
    assert(e.status === 400, `status ${e.status}`);
  });

  await check("writeTournamentRecord keeps each player's best, ranked", async () => {
    const first = await client.writeTournamentRecord(a, cup, { score: 100, subscore: 1, metadata: { car: "red" } });
    assert(first.score === 100 && first.num_score === 1 && first.rank === 1 && first.max_num_score === 3, JSON.stringify(first));
    assert(first.metadata.car === "red" && first.owner_id === a.user_id, JSON.stringify(first));
    const b1 = await client.writeTournamentRecord(b, cup, { score: 300 });
    assert(b1.rank === 1, JSON.stringify(b1));
    const c1 = await client.writeTournamentRecord(c, cup, { score: 200 });
    assert(c1.rank === 2, JSON.stringify(c1));
  });

  await check("max_num_score caps the attempts", async () => {
    await client.writeTournamentRecord(a, cup, { score: 50 });
    const third = await client.writeTournamentRecord(a, cup, { score: 60 });
    assert(third.score === 100 && third.num_score === 3, JSON.stringify(third));
    const e = await refusal(client.writeTournamentRecord(a, cup, { score: 500 }));
    assert(e.status === 400, `status ${e.status}`);
  });

  await check("listTournamentRecords pages through the cursor, with owner ids", async () => {
    const seen = [];
    let cursor;
    for (let i = 0; i < 5; i++) {
      const page = await client.listTournamentRecords(a, cup, undefined, 2, cursor);
      seen.push(...page.records.map((r) => `${r.rank}:${r.score}`));
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    assert(seen.join() === "1:300,2:200,3:100", seen.join());
    const mine = await client.listTournamentRecords(a, cup, [c.user_id], 1);
    assert(mine.owner_records.length === 1 && mine.owner_records[0].rank === 2, JSON.stringify(mine));
  });

  await check("listTournamentRecordsAroundOwner centres on the owner", async () => {
    const r = await client.listTournamentRecordsAroundOwner(a, cup, c.user_id, 3);
    const ranks = r.records.map((o) => `${o.rank}:${o.score}`).join();
    assert(ranks === "1:300,2:200,3:100", ranks);
  });

  console.log("all nakama-js tournament checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
