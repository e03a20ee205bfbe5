// bcryptjs, bundled to CommonJS. A fixed salt makes the hash the same on every run.
import bcrypt from "bcryptjs";

const salt = "$2b$06$abcdefghijklmnopqrstuu";

export const handler = async (event) => {
  const { password } = JSON.parse(event.body);
  const hash = bcrypt.hashSync(password, salt);
  const asyncHash = await bcrypt.hash(password, salt);
  return {
    hash,
    same: hash === asyncHash,
    matches: bcrypt.compareSync(password, hash),
    wrong: await bcrypt.compare(password + "!", hash),
    rounds: bcrypt.getRounds(hash),
  };
};
