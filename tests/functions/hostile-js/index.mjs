// Misbehaves on request (?do=...): the isolation suite checks that each attempt is contained.
export const handler = async (event) => {
  const params = new URLSearchParams(event.rawQueryString || "");
  const what = params.get("do");
  if (what === "alloc") {
    // Allocate without end, keeping everything reachable.
    const hoard = [];
    for (;;) hoard.push(new Array(1 << 20).fill(hoard.length));
  }
  if (what === "spin") {
    for (;;) {}
  }
  return { statusCode: 200, body: "ok" };
};
