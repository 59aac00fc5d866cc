import { describe, expect, it } from 'vitest';
import { chunk, commandEntries, decodeCommand, encodeCommand, resultRef } from '../../src/b24/batch-encoding.js';
import { parsePhpQuery } from '../../src/emulator/http/params.js';

describe('batch command encoding', () => {
  const params = {
    filter: { '>ID': 10, '<=DATE_MODIFY': '2024-01-01T00:00:00+03:00', '@STAGE_ID': ['WON', 'C1:WON'], '%NAME': 'Ann & Bob', '=ownerId': [1, 2, 3] },
    select: ['ID', 'NAME', 'UF_*', 'PHONE'],
    order: { ID: 'ASC' },
    start: -1,
    nested: { a: { b: { c: ['x', 'y'] } } },
  };

  it('round-trips nested filter/select arrays through the emulator\'s PHP-style parser', () => {
    const cmd = encodeCommand('crm.contact.list', params);
    expect(cmd.startsWith('crm.contact.list?')).toBe(true);
    const parsed = parsePhpQuery(cmd.slice(cmd.indexOf('?') + 1));
    // PHP parse_str yields strings
    expect(parsed).toEqual({
      filter: { '>ID': '10', '<=DATE_MODIFY': '2024-01-01T00:00:00+03:00', '@STAGE_ID': ['WON', 'C1:WON'], '%NAME': 'Ann & Bob', '=ownerId': ['1', '2', '3'] },
      select: ['ID', 'NAME', 'UF_*', 'PHONE'],
      order: { ID: 'ASC' },
      start: '-1',
      nested: { a: { b: { c: ['x', 'y'] } } },
    });
    expect(decodeCommand(cmd).method).toBe('crm.contact.list');
  });

  it('encodes keys with brackets the way parse_str reads them, and keeps $result macros intact', () => {
    const cmd = encodeCommand('crm.deal.list', { filter: { '>ID': resultRef('p0', 49, 'ID') } });
    const parsed = parsePhpQuery(cmd.slice(cmd.indexOf('?') + 1));
    expect(parsed).toEqual({ filter: { '>ID': '$result[p0][49][ID]' } });
  });

  it('method without params has no query', () => {
    expect(encodeCommand('profile')).toBe('profile');
  });

  it('normalises array and object command sets, chunks by 50', () => {
    expect(commandEntries([['a', {}], { method: 'b' }]).map(([k]) => k)).toEqual(['0', '1']);
    expect(commandEntries({ x: ['a'], y: ['b'] }).map(([k]) => k)).toEqual(['x', 'y']);
    const c = chunk(Array.from({ length: 120 }, (_, i) => i));
    expect(c.map((x) => x.length)).toEqual([50, 50, 20]);
  });
});
