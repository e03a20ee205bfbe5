const round2 = (x) => Math.round(x * 100) / 100;

// Upper-cases item names, computes subtotals and the order total (rounded to cents).
export function summarize(order) {
  let total = 0;
  const items = order.items.map((it) => {
    const sub = it.price * it.qty;
    total += sub;
    return { id: it.id, name: String(it.name).toUpperCase(), subtotal: round2(sub), tags: (it.tags ?? []).length };
  });
  return { order: order.order, customer: order.customer?.id, count: items.length, total: round2(total), items };
}
