import { describe, expect, it } from 'vitest';
import { decideReview, samePerson } from '../../core/review.ts';

const rules = { approved: true, overridden: false, notSatisfied: [] };

describe('review rule', () => {
  it('knows one person behind an IAM user, an assumed-role session and a plain name, whatever the case', () => {
    expect(samePerson('arn:aws:iam::111122223333:user/alice', 'arn:aws:sts::111122223333:assumed-role/Developers/Alice')).toBe(true);
    expect(samePerson('arn:aws:iam::111122223333:user/teams/storefront/ALICE', 'alice')).toBe(true);
    expect(samePerson('arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::111122223333:user/alicia')).toBe(false);
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
