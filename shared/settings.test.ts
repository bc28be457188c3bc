import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envNames, type Setting, settingReader } from './settings.ts';

const TABLE = [
  {
    name: 'EDGECA_T_PORT',
    type: 'int',
    default: 80,
    min: 1,
    max: 65_535,
    expected: 'a TCP port',
    shown: '',
    description: '',
    secret: false,
  },
  { name: 'EDGECA_T_COUNT', type: 'int', shown: '', description: '', secret: false },
  { name: 'EDGECA_T_ON', type: 'bool', default: false, shown: '', description: '', secret: false },
  { name: 'EDGECA_T_NAME', type: 'string', default: 'x', shown: '', description: '', secret: false },
  { name: 'EDGECA_T_KEY', type: 'string', shown: '', description: '', secret: true, fromFile: true },
] as const satisfies readonly Setting[];
const read = settingReader(TABLE);

test('unset values are their defaults, or undefined without one', () => {
  assert.equal(read({}, 'EDGECA_T_PORT'), 80);
  assert.equal(read({ EDGECA_T_PORT: '' }, 'EDGECA_T_PORT'), 80);
  assert.equal(read({}, 'EDGECA_T_COUNT'), undefined);
  assert.equal(read({}, 'EDGECA_T_ON'), false);
  assert.equal(read({}, 'EDGECA_T_NAME'), 'x');
  assert.equal(read({ EDGECA_T_KEY: '' }, 'EDGECA_T_KEY'), undefined);
});

test('set values are parsed by the row type', () => {
  assert.equal(read({ EDGECA_T_PORT: '8080' }, 'EDGECA_T_PORT'), 8080);
  assert.equal(read({ EDGECA_T_COUNT: '0' }, 'EDGECA_T_COUNT'), 0);
  assert.equal(read({ EDGECA_T_ON: 'On' }, 'EDGECA_T_ON'), true);
  assert.equal(read({ EDGECA_T_ON: 'nope' }, 'EDGECA_T_ON'), false);
  assert.equal(read({ EDGECA_T_NAME: 'y' }, 'EDGECA_T_NAME'), 'y');
});

test('a number out of its row range is refused naming the variable and what it expects', () => {
  const cases: [string, string, RegExp][] = [
    ['EDGECA_T_PORT', '0', /EDGECA_T_PORT must be a TCP port, got "0"$/],
    ['EDGECA_T_PORT', '65536', /EDGECA_T_PORT must be a TCP port, got "65536"$/],
    ['EDGECA_T_PORT', 'http', /EDGECA_T_PORT must be a TCP port, got "http"$/],
    ['EDGECA_T_COUNT', '-1', /EDGECA_T_COUNT must be a non-negative integer, got "-1"$/],
    ['EDGECA_T_COUNT', '1.5', /EDGECA_T_COUNT must be a non-negative integer, got "1.5"$/],
  ];
  for (const [name, v, want] of cases) {
    assert.throws(() => read({ [name]: v }, name as 'EDGECA_T_PORT'), want, `${name}=${v}`);
  }
});

test('a reader takes only its own table names', () => {
  // @ts-expect-error: not a row of TABLE, so the typecheck refuses it
  assert.throws(() => read({}, 'EDGECA_OTHER'), /EDGECA_OTHER is not a row of this settings table/);
});

test('the environment names put <NAME>_FILE right after a file setting', () => {
  assert.deepEqual(envNames(TABLE), [
    'EDGECA_T_PORT',
    'EDGECA_T_COUNT',
    'EDGECA_T_ON',
    'EDGECA_T_NAME',
    'EDGECA_T_KEY',
    'EDGECA_T_KEY_FILE',
  ]);
});
