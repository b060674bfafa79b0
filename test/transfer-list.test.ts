import { TransferList } from '../packages/core/src/transfer/list';

interface Item {
  name: string;
  listPrev: Item | undefined;
  listNext: Item | undefined;
}

const item = (name: string): Item => ({ name, listPrev: undefined, listNext: undefined });
const names = (list: TransferList<Item>) => list.toArray().map((i) => i.name);

describe('the proxy’s list of unsettled transfers', () => {
  it('adds, and removes from the head, the middle and the tail, each once', () => {
    const list = new TransferList<Item>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item) as [Item, Item, Item, Item];
    for (const i of [a, b, c, d]) list.add(i);
    expect(names(list)).toEqual(['d', 'c', 'b', 'a']);
    list.delete(c);
    expect(names(list)).toEqual(['d', 'b', 'a']);
    list.delete(d);
    expect(names(list)).toEqual(['b', 'a']);
    list.delete(a);
    expect(names(list)).toEqual(['b']);
    expect(list.size).toBe(1);
    // Removing again, or removing what was never added, changes nothing.
    list.delete(a);
    list.delete(item('never added'));
    expect(list.size).toBe(1);
    list.delete(b);
    expect(list.size).toBe(0);
    expect(names(list)).toEqual([]);
  });

  it('gives a copy that stays whole while its entries remove themselves', () => {
    const list = new TransferList<Item>();
    const items = ['a', 'b', 'c'].map(item);
    for (const i of items) list.add(i);
    const copy = list.toArray();
    for (const i of copy) list.delete(i);
    expect(copy.map((i) => i.name)).toEqual(['c', 'b', 'a']);
    expect(list.size).toBe(0);
  });
});
