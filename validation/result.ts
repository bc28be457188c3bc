// Building ValidationResults: every problem carries the identifier it is about (RFC 8555 §6.7.1).
import { AcmeProblem, type Identifier } from '../shared/problems.ts';
import type { ValidationRecord, ValidationResult } from './types.ts';

export function valid(records?: ValidationRecord[]): ValidationResult {
  return records && records.length > 0 ? { status: 'valid', validationRecord: records } : { status: 'valid' };
}

export function invalid(
  problem: AcmeProblem,
  identifier: Identifier,
  records?: ValidationRecord[],
): ValidationResult {
  const withId = problem.identifier
    ? problem
    : new AcmeProblem(problem.kind, problem.message, { identifier, status: problem.status });
  return records && records.length > 0
    ? { status: 'invalid', problem: withId, validationRecord: records }
    : { status: 'invalid', problem: withId };
}

/** A short, escaped excerpt of what a server answered, safe to put in a problem detail. */
export function excerpt(text: string, max = 128): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}
