/**
 * Precision and recall of the built-in DLP detectors on the labelled corpus. A finding counts
 * as a true positive only when its detector and its exact text match a label of the case.
 *
 * `npm run dlp:eval` prints one table per corpus: the regression corpus (grown with the detectors)
 * and the independent corpus (written without reading them, issue 19); `--misses` lists the errors.
 * `test/unit/dlp-detectors.test.ts` asserts the floors.
 */
import { BUILTIN_DETECTORS, DETECTORS, scan } from '../../lambdas/shared/policy/detectors';
import { DLP_CORPUS, type CorpusCase } from './corpus';
import { INDEPENDENT_CORPUS } from './independent-corpus';

/** One detector's score on the corpus. */
export interface DetectorScore {
  detector: string;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
}

/** A finding that matched no label, or a label no finding matched (for debugging a detector). */
export interface Miss {
  kind: 'false_positive' | 'false_negative';
  detector: string;
  value: string;
  text: string;
}

/**
 * Scores every built-in detector on the corpus, all detectors on at once (as a profile would
 * run them, so overlap resolution between detectors is part of what is measured).
 *
 * @example
 * const { scores } = evaluateDetectors(DLP_CORPUS);
 */
export function evaluateDetectors(corpus: readonly CorpusCase[] = DLP_CORPUS): {
  scores: DetectorScore[];
  misses: Miss[];
} {
  const counts = new Map(BUILTIN_DETECTORS.map((d) => [d as string, { tp: 0, fp: 0, fn: 0 }]));
  const misses: Miss[] = [];
  const all = Object.values(DETECTORS);
  for (const testCase of corpus) {
    const expected = testCase.expected.map((label) => `${label.detector}\u0000${label.value}`);
    const found = scan(testCase.text, all).map((f) => `${f.detector}\u0000${testCase.text.slice(f.start, f.end)}`);
    const unmatched = [...expected];
    for (const finding of found) {
      const [detector, value] = finding.split('\u0000') as [string, string];
      const at = unmatched.indexOf(finding);
      if (at >= 0) {
        unmatched.splice(at, 1);
        counts.get(detector)!.tp += 1;
      } else {
        counts.get(detector)!.fp += 1;
        misses.push({ kind: 'false_positive', detector, value, text: testCase.text });
      }
    }
    for (const label of unmatched) {
      const [detector, value] = label.split('\u0000') as [string, string];
      counts.get(detector)!.fn += 1;
      misses.push({ kind: 'false_negative', detector, value, text: testCase.text });
    }
  }
  const scores = [...counts].map(([detector, { tp, fp, fn }]) => ({
    detector,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: tp + fn === 0 ? 1 : tp / (tp + fn),
  }));
  return { scores, misses };
}

/** The scores as a fixed-width table. */
export function formatScores(scores: readonly DetectorScore[]): string {
  const rows = scores.map((s) =>
    [
      s.detector.padEnd(22),
      String(s.truePositives).padStart(4),
      String(s.falsePositives).padStart(4),
      String(s.falseNegatives).padStart(4),
      s.precision.toFixed(3).padStart(9),
      s.recall.toFixed(3).padStart(7),
    ].join(' '),
  );
  return [`${'detector'.padEnd(22)}   TP   FP   FN precision  recall`, ...rows].join('\n');
}

if (require.main === module) {
  const corpora: [string, readonly CorpusCase[]][] = [
    ['regression corpus (test/dlp/corpus.ts)', DLP_CORPUS],
    ['independent corpus (test/dlp/independent-corpus.ts)', INDEPENDENT_CORPUS],
  ];
  for (const [name, corpus] of corpora) {
    const { scores, misses } = evaluateDetectors(corpus);
    console.log(`\nDLP ${name}: ${corpus.length} texts, ${corpus.flatMap((c) => c.expected).length} labels\n`);
    console.log(formatScores(scores));
    if (process.argv.includes('--misses')) {
      for (const miss of misses)
        console.log(
          `\n${miss.kind} ${miss.detector}: ${JSON.stringify(miss.value)}\n  in ${JSON.stringify(miss.text)}`,
        );
    }
  }
}
