// Misbehaves on request (?do=...): the isolation suite checks that each attempt is contained.
export const handler = async (event) => {
  const params = new URLSearchParams(event.rawQueryString || "");
  const what = params.get("do");
  if (what === "alloc") {
    // Allocate without end, keeping everything reachable.
    const hoard = [];
    for (;;) hoard.push(new Array(1 << 20).fill(hoard.length));
  }
  if (what === "bomb") {
    // The same with arrays of doubles, as a new user would write it.
    const a = [];
    for (;;) a.push(new Array(1e6).fill(Math.random()));
  }
  if (what === "huge") {
    // One allocation far beyond the budget of a small function.
    return { length: new Array(3e7).fill(0.5).length };
  }
  if (what === "spin") {
    for (;;) {}
  }
  if (what === "timers") {
    // A timer flood: a million pending timers.
    for (let i = 0; i < 1e6; i++) setTimeout(() => {}, 1e6);
    return { statusCode: 200, body: "all set" };
  }
  if (what === "later") {
    // A timer left behind by an invocation that returns at once.
    setTimeout(() => { globalThis.leaked = (globalThis.leaked || 0) + 1; }, 50);
    return { statusCode: 200, body: "set" };
  }
  if (what === "leaked") {
    // How many timers of earlier invocations ran while this one waited.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { statusCode: 200, body: String(globalThis.leaked || 0) };
  }
  if (what === "hang") {
    await new Promise(() => {});
  }
  return { statusCode: 200, body: "ok" };
};
