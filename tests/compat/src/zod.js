// zod 4, bundled to CommonJS: validates a signup body; 400 with the issues when invalid.
import { z } from "zod";

const Signup = z.object({
  email: z.string().email(),
  age: z.number().int().min(13),
  tags: z.array(z.string().min(1)).max(3).default([]),
  plan: z.enum(["free", "pro"]).default("free"),
});

export const handler = async (event) => {
  const result = Signup.safeParse(JSON.parse(event.body || "{}"));
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join("."), code: i.code,
                                                     message: i.message }));
    return { statusCode: 400, headers: { "content-type": "application/json" },
             body: JSON.stringify({ issues }) };
  }
  return { ok: true, user: result.data };
};
