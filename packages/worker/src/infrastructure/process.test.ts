import { describe, expect, it } from "vitest";
import { ProcessInfrastructure } from "./process.ts";
import type { JobSpec } from "./types.ts";

function job(command: unknown, lines: string[]): JobSpec {
  return {
    flowRunId: "00000000-0000-7000-8000-000000000001",
    flowRunName: "argv",
    configuration: { command, env: { SECRET_OF_THE_WORKER: "s3cret" } },
    env: {},
    defaultCommand: [process.execPath, "-e", "0"],
    labels: {},
    onOutput: (line) => lines.push(line),
  };
}

describe("process pool command", () => {
  it("runs a string command as an argv, with no shell expansion (regression: it went through /bin/sh -c)", async () => {
    const lines: string[] = [];
    const running = await new ProcessInfrastructure().submit(
      job(
        `${process.execPath} -e "console.log(process.argv.slice(1).join('|'))" '$SECRET_OF_THE_WORKER' "$(id)" ';' echo`,
        lines,
      ),
    );
    const exit = await running.exited;
    expect(exit.exitCode).toBe(0);
    expect(lines).toEqual(["$SECRET_OF_THE_WORKER|$(id)|;|echo"]);
  });

  it("names the command when it cannot be split", async () => {
    await expect(new ProcessInfrastructure().submit(job("node 'unterminated", []))).rejects.toThrow(
      /command: unterminated ' quote/,
    );
  });
});
