// lodash (the whole library, as `import _ from "lodash"` bundles it), to CommonJS.
import _ from "lodash";

export const handler = async (event) => {
  const people = JSON.parse(event.body);
  const byTeam = _.mapValues(_.groupBy(people, "team"), (members) => _.map(_.sortBy(members, ["age", "name"]), "name"));
  const template = _.template("<%= count %> people, oldest <%- oldest %>");
  return {
    byTeam,
    stats: { meanAge: _.meanBy(people, "age"), teams: _.uniq(_.map(people, "team")).sort() },
    chunks: _.chunk(_.range(7), 3),
    merged: _.merge({ a: { b: 1 } }, { a: { c: [1, 2] } }),
    camel: _.camelCase("Hello flint-world"),
    line: template({ count: people.length, oldest: _.maxBy(people, "age").name }),
    deep: _.get({ x: [{ y: { z: 42 } }] }, "x[0].y.z"),
  };
};
