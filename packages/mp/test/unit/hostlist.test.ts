// Slurm host lists: the forms Slurm prints (ranges, padding, several
// brackets, plain names) and a clear ELAUNCH for everything else.
import { describe, expect, it } from 'vitest';

import { expandHostlist, firstHost, hostlistNames } from '../../src/bootstrap/hostlist.js';
import { MpError } from '../../src/errors.js';

function elaunch(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MpError);
  expect((caught as MpError).code).toBe('ELAUNCH');
  expect((caught as MpError).message).toMatch(message);
}

describe('expandHostlist', () => {
  it('plain names, ranges with padding, single numbers, several items', () => {
    expect(expandHostlist('login')).toEqual(['login']);
    expect(expandHostlist('node[01-04,07],other')).toEqual(['node01', 'node02', 'node03', 'node04', 'node07', 'other']);
    expect(expandHostlist('n[8-11]')).toEqual(['n8', 'n9', 'n10', 'n11']);
    expect(expandHostlist('n[08-11]')).toEqual(['n08', 'n09', 'n10', 'n11']);
    expect(expandHostlist('a,b[2],c')).toEqual(['a', 'b2', 'c']);
    expect(expandHostlist('gpu[1-2]-ib')).toEqual(['gpu1-ib', 'gpu2-ib']);
    expect(expandHostlist(' node1 ')).toEqual(['node1']);
  });

  it('several brackets in one name multiply, the leftmost varying slowest', () => {
    expect(expandHostlist('r[1-2]n[1-2]')).toEqual(['r1n1', 'r1n2', 'r2n1', 'r2n2']);
    expect(expandHostlist('rack[1,3]-node[0-1],x')).toEqual(['rack1-node0', 'rack1-node1', 'rack3-node0', 'rack3-node1', 'x']);
  });

  it('malformed lists: ELAUNCH naming the variable and the problem', () => {
    elaunch(() => expandHostlist('', 'SLURM_STEP_NODELIST'), /^ELAUNCH: SLURM_STEP_NODELIST="" is not a Slurm host list: it is empty$/);
    elaunch(() => expandHostlist('node[1-2'), /SLURM_JOB_NODELIST="node\[1-2" .*a "\[" without its "\]"/);
    elaunch(() => expandHostlist('node1-2]'), /a "\]" without its "\["/);
    elaunch(() => expandHostlist('n[[1]]'), /nested "\["/);
    elaunch(() => expandHostlist('n[a-b]'), /"\[a-b\]" holds "a-b", not a number or lo-hi range/);
    elaunch(() => expandHostlist('n[]'), /"\[\]" holds "", not a number/);
    elaunch(() => expandHostlist('n[1-5:2]'), /not a number or lo-hi range/);
    elaunch(() => expandHostlist('n[5-1]'), /the range "5-1" runs backwards/);
    elaunch(() => expandHostlist('a,,b'), /an empty item between commas/);
    elaunch(() => expandHostlist('a b'), /"a b" contains white space/);
  });

  it('a list longer than the limit is refused, in one bracket or in all', () => {
    elaunch(() => expandHostlist('n[1-100000]'), /it names more than 65536 hosts/);
    elaunch(() => expandHostlist('n[1-3],m[1-3]', 'L', 5), /^ELAUNCH: L=.*it names more than 5 hosts$/);
    expect(expandHostlist('n[1-3],m[1-2]', 'L', 5)).toHaveLength(5);
  });
});

describe('firstHost', () => {
  it('the first name, without expanding the rest', () => {
    expect(firstHost('node[07-09],other')).toBe('node07');
    expect(firstHost('login,node[1-2]')).toBe('login');
    // The whole list is still checked: a later malformed item is an error, not ignored.
    elaunch(() => firstHost('a,b[1-'), /a "\[" without its "\]"/);
  });

  it('hostlistNames is lazy: a huge product costs only what is taken', () => {
    const names = hostlistNames('r[1-60000]n[1-60000]');
    expect(names.next().value).toBe('r1n1');
    expect(names.next().value).toBe('r1n2');
  });
});
