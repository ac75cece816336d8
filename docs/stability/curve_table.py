#!/usr/bin/env python3
"""Per-seed learning-curve table of a `robotctl bench gap` CSV (H2O+ rows): real return every 2k
updates, the best point, the mean over the last third, and how many points after the best fell
below -1400 (a collapse).  Usage: python3 docs/stability/curve_table.py FILE.csv ..."""
import csv, collections, sys
for path in sys.argv[1:]:
    rows = list(csv.DictReader(open(path)))
    by = collections.defaultdict(dict)
    for r in rows:
        if r['method'] != 'h2o+': continue
        by[int(r['seed'])][int(r['updates'])] = float(r['real_return'])
    ups = sorted(set(u for s in by.values() for u in s))
    pick = [u for u in ups if u % 2000 == 0]
    print(path)
    print('| seed | ' + ' | '.join('%dk' % (u // 1000) for u in pick) + ' | best | last-third mean | points < −1400 after best |')
    print('|---' * (len(pick) + 4) + '|')
    for s in sorted(by):
        c = by[s]
        best_u = max(c, key=lambda u: c[u])
        third = [c[u] for u in ups if u >= ups[-1] * 2 / 3]
        after = [c[u] for u in ups if u > best_u and c[u] < -1400]
        print('| %d | ' % s + ' | '.join('%.0f' % c[u] for u in pick) + ' | %.0f @%dk | %.0f | %d |' % (c[best_u], best_u // 1000, sum(third) / len(third), len(after)))
