import { describe, expect, it } from 'vitest';
import { decideReview, personOf, principalName, samePerson } from '../../core/review.ts';
import { judgeDecider } from '../../core/operators.ts';

const rules = { approved: true, overridden: false, notSatisfied: [] };

describe('review rule', () => {
  it('knows one person behind an IAM user, an assumed-role session and a plain name, whatever the case', () => {
    expect(samePerson('arn:aws:iam::111122223333:user/alice', 'arn:aws:sts::111122223333:assumed-role/Developers/Alice')).toBe(true);
    expect(samePerson('arn:aws:iam::111122223333:user/teams/storefront/ALICE', 'alice')).toBe(true);
    expect(samePerson('arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::111122223333:user/alicia')).toBe(false);
  });

  it('splits only an ARN on "/": a plain name with a slash is that whole name', () => {
    expect(personOf('x/pat')).toBe('x/pat');
    expect(principalName('Bob/Pat')).toBe('Bob/Pat');
    expect(samePerson('x/pat', 'Pat')).toBe(false);
    expect(samePerson('bob/pat', 'pat')).toBe(false);
    expect(samePerson('X/Pat', 'x/pat')).toBe(true);
    expect(principalName('arn:aws:sts::1:assumed-role/Dev/Pat')).toBe('Pat');
    // An approver signing in as "bob/pat" is not the approver "pat", and requester "bob" is not "bob/pat" either.
    expect(judgeDecider('bob/pat', { approvers: ['pat'], requester: 'bob', author: 'alice' })).toBe('not-an-approver');
    expect(judgeDecider('pat', { approvers: ['pat'], requester: 'bob/pat', author: 'alice' })).toBeUndefined();
  });

  it('does not count an approval the author gave under another role', () => {
    const decision = decideReview({
      commit: 'c1',
      pullRequest: { id: '7', author: 'arn:aws:iam::1:user/alice', approvers: ['arn:aws:sts::1:assumed-role/Admin/Alice'], rules },
    });
    expect(decision).toMatchObject({ approved: false, reason: 'self-approved' });
  });

  it('names the reviewers other than the author when it approves', () => {
    const decision = decideReview({
      commit: 'c1',
      pullRequest: { id: '7', author: 'arn:aws:iam::1:user/alice', approvers: ['arn:aws:iam::1:user/Alice', 'arn:aws:iam::1:user/Bob'], rules },
    });
    expect(decision).toEqual({ approved: true, pullRequest: '7', reviewers: ['bob'] });
  });
});
