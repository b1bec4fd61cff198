/**
 * An attendee already there, typing, in a process of its own (as on a machine of its own): while a
 * room arrives, the load generator's event loop is busy with 150 connections, and the echo it
 * measured in-process included its own delay. `startTypist` runs this file as a child:
 *
 *   node --import tsx bench/typist.ts <url> <lesson>   prints "ready" at the prompt; then on stdin
 *   "start" begins typing, "stop" ends it and prints the keystroke → echo samples (JSON, ms).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BenchAttendee } from './attendee.ts';
import { measureEcho } from './shell.ts';

export interface Typist {
  start(): void;
  /** Stops typing; resolves with every keystroke's echo time since `start`. */
  stop(): Promise<number[]>;
  close(): void;
}

export async function startTypist(url: string, lesson: string): Promise<Typist> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), url, lesson], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin!.on('error', () => undefined); // it exited: `exited` says so
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`the typist exited (${code ?? signal})`))));
  exited.catch(() => undefined);
  const lines = createInterface({ input: child.stdout! });
  const next = () => Promise.race([new Promise<string>((resolve) => lines.once('line', resolve)), exited]);
  if ((await next()) !== 'ready') throw new Error('the typist did not get its prompt');
  return {
    start: () => child.stdin!.write('start\n'),
    async stop() {
      const reply = next();
      child.stdin!.write('stop\n');
      const result = JSON.parse(await reply) as number[] | { error: string };
      if (!Array.isArray(result)) throw new Error(`the typist failed: ${result.error}`);
      return result;
    },
    close: () => child.kill(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, lesson] = process.argv.slice(2) as [string, string];
  const typist = await BenchAttendee.join(url, lesson);
  let typing: Promise<number[]> | undefined;
  let stopped = false;
  console.log('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'start') {
      stopped = false;
      typing = (async () => {
        const samples: number[] = [];
        while (!stopped) samples.push(...(await measureEcho(typist, 20)));
        return samples;
      })();
      typing.catch(() => undefined); // reported at "stop"
    } else if (line === 'stop') {
      stopped = true;
      try {
        console.log(JSON.stringify((await typing) ?? []));
      } catch (error) {
        console.log(JSON.stringify({ error: (error as Error).message }));
      }
    }
  }
  typist.close();
}
