import { flow, task, getRunLogger } from "@flowplane/sdk";
const add = task({ name: "add" }, async (a: number, b: number) => a + b);
export const hello = flow({ name: "hello", logPrints: true }, async (params: { n?: number } = {}) => {
  const n = params.n ?? 3;
  const log = getRunLogger();
  let total = 0;
  for (let i = 0; i < n; i++) total = await add(total, i);
  log.info(`total is ${total}`);
  console.log("printed line");
  return total;
});
