// A node:test reporter that writes, when the run ends, the JSON list of test files that reported
// at least one result. `npm test` compares it with the files it discovered, so a test file that
// exists but never ran fails the run instead of passing unnoticed.
export default async function* filesReporter(source) {
  const seen = new Set();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.file)
      seen.add(event.data.file);
  }
  yield `${JSON.stringify([...seen].sort())}\n`;
}
