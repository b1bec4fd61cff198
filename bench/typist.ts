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
  const lines = createInterface({ input: child.stdout! });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the typist exited with ${code}`)));
    });
  if ((await next()) !== 'ready') throw new Error('the typist did not get its prompt');
  return {
    start: () => child.stdin!.write('start\n'),
    async stop() {
      const samples = next();
      child.stdin!.write('stop\n');
      return JSON.parse(await samples) as number[];
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
    } else if (line === 'stop') {
      stopped = true;
      console.log(JSON.stringify((await typing) ?? []));
    }
  }
  typist.close();
}
