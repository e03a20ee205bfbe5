// papaparse, bundled to CommonJS: a CSV upload summarised per group, and CSV written back.
import Papa from "papaparse";

export const handler = async (event) => {
  const parsed = Papa.parse(event.body.trim(), { header: true, dynamicTyping: true,
                                                 skipEmptyLines: true });
  const byRegion = {};
  for (const row of parsed.data) {
    byRegion[row.region] = (byRegion[row.region] || 0) + row.amount;
  }
  const csv = Papa.unparse(Object.entries(byRegion).map(([region, total]) => ({ region, total })));
  return {
    statusCode: 200,
    headers: { "content-type": "text/csv" },
    body: csv + `\n# rows=${parsed.data.length} fields=${parsed.meta.fields.join("|")}` +
          ` errors=${parsed.errors.length}\n`,
  };
};
