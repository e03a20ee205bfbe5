// Configuration read at load time.
if (!process.env.DATABASE_URL) {
  throw new Error('DATABASE_URL is not set');
}
exports.url = process.env.DATABASE_URL;
