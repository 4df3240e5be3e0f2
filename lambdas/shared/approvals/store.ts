import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AdminChangeLog } from '../admin/change-log';
import type { ToolCall } from '../chat/types';
import { conflict, ERROR_CODES, forbidden, notFound } from '../http/errors';
import { itemKeys } from '../store/schema';
import { transactWrite, TransactionCancelledError } from '../store/transactions';

/** Where a held call stands. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'redeemed';

/** A tool call held back from an answer until an approver decides. */
export interface Approval {
  approvalId: string;
  teamId: string;
  /** The key whose request the call came from: only it may redeem the call. */
  keyId: string;
  requestId: string;
  model: string;
  ruleId: string;
  /** The call as the model made it (after the answer's policy checks). */
  call: ToolCall;
  status: ApprovalStatus;
  createdAt: string;
  /** Epoch ms after which a pending call can no longer be approved, or an approved one redeemed. */
  deadlineMs: number;
  ttlSeconds: number;
  decidedBy?: string;
  decidedAt?: string;
  redeemedAt?: string;
}

/** How long an approval's record stays after its deadline, for the audit (then DynamoDB's TTL removes it). */
const RETENTION_SECONDS = 90 * 86_400;

/** A fresh approval id: `apr_` and 20 random base32-like characters. */
function newApprovalId(): string {
  return `apr_${randomBytes(15).toString('base64url').replace(/[-_]/g, 'x').toLowerCase()}`;
}

/** The shape of approval ids, for path parameters and headers. */
export const APPROVAL_ID = /^apr_[a-z0-9]{20}$/;

/**
 * Held tool calls in the audit table, one partition per team: created when an answer holds a
 * call, decided by an approver (in one transaction with the admin audit trail's entry, so there
 * is no decision without its who and when), redeemed once by the key that asked. Every state
 * change is a conditional write: a call is approved or rejected once, redeemed once, and never
 * after its deadline.
 */
export class ApprovalStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly changes: AdminChangeLog,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Holds a call; its deadline is `ttlSeconds` from now.
   *
   * @example
   * const approval = await approvals.hold({ teamId, keyId, requestId, model, ruleId, call, ttlSeconds: 3600 });
   */
  async hold(input: Omit<Approval, 'approvalId' | 'status' | 'createdAt' | 'deadlineMs'>): Promise<Approval> {
    const now = this.now();
    const approval: Approval = {
      ...input,
      approvalId: newApprovalId(),
      status: 'pending',
      createdAt: new Date(now).toISOString(),
      deadlineMs: now + input.ttlSeconds * 1000,
    };
    await transactWrite(this.db, [
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...itemKeys.approval(approval.teamId, approval.approvalId),
            ...approval,
            expiresAt: Math.ceil(approval.deadlineMs / 1000) + RETENTION_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ]);
    return approval;
  }

  /** One approval of a team, or undefined. */
  async get(teamId: string, approvalId: string): Promise<Approval | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: itemKeys.approval(teamId, approvalId), ConsistentRead: true }),
    );
    return Item ? approvalOf(Item) : undefined;
  }

  /** A team's approvals, newest first (at most 200: pending ones are few; old ones expire). */
  async list(teamId: string): Promise<Approval[]> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': itemKeys.approval(teamId, '').pk },
        Limit: 200,
      }),
    );
    return Items.map(approvalOf).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Approves or rejects a pending call before its deadline, recording who and when in the admin
   * audit trail in the same transaction. An approved call may be redeemed for `ttlSeconds` more.
   * Anything else is a 404 (no such call), or a 409 saying where it stands.
   *
   * @example
   * await approvals.decide('payments', 'apr_…', 'approved', 'arn:aws:iam::123456789012:role/Approver');
   */
  async decide(
    teamId: string,
    approvalId: string,
    decision: 'approved' | 'rejected',
    actor: string,
  ): Promise<Approval> {
    const before = await this.get(teamId, approvalId);
    if (!before) throw notFound(`No approval ${approvalId} for team ${teamId}.`, ERROR_CODES.notFound, 'approvalId');
    const now = this.now();
    const at = new Date(now).toISOString();
    const after: Approval = {
      ...before,
      status: decision,
      decidedBy: actor,
      decidedAt: at,
      deadlineMs: decision === 'approved' ? now + before.ttlSeconds * 1000 : before.deadlineMs,
    };
    try {
      await transactWrite(this.db, [
        {
          Update: {
            TableName: this.tableName,
            Key: itemKeys.approval(teamId, approvalId),
            UpdateExpression: 'SET #status = :status, decidedBy = :actor, decidedAt = :at, deadlineMs = :deadline',
            ConditionExpression: '#status = :pending AND deadlineMs > :now',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':status': decision,
              ':actor': actor,
              ':at': at,
              ':deadline': after.deadlineMs,
              ':pending': 'pending',
              ':now': now,
            },
          },
        },
        this.changes.entryItem({
          at,
          actor,
          action: decision === 'approved' ? 'approval.approve' : 'approval.reject',
          teamId,
          keyId: before.keyId,
          before: approvalView(before),
          after: approvalView(after),
        }),
      ]);
    } catch (error) {
      if (!(error instanceof TransactionCancelledError)) throw error;
      const current = (await this.get(teamId, approvalId)) ?? before;
      throw conflict(`The approval ${approvalId} is ${standing(current, now)}; it can no longer be decided.`);
    }
    return after;
  }

  /**
   * The held call for the key that asked for it, once, if it is approved and within its deadline;
   * else a 403 (`approval_not_granted`) saying where it stands, or a 404.
   *
   * @example
   * const call = await approvals.redeem('payments', 'kabcdefghijk', 'apr_…');
   */
  async redeem(teamId: string, keyId: string, approvalId: string): Promise<Approval> {
    const now = this.now();
    const refused = (approval: Approval | undefined) =>
      approval
        ? forbidden(
            `The held tool call ${approvalId} is ${standing(approval, now)}; it is not released.`,
            ERROR_CODES.approvalNotGranted,
          )
        : notFound(`No held tool call ${approvalId}.`, ERROR_CODES.notFound);
    try {
      await transactWrite(this.db, [
        {
          Update: {
            TableName: this.tableName,
            Key: itemKeys.approval(teamId, approvalId),
            UpdateExpression: 'SET #status = :redeemed, redeemedAt = :at',
            ConditionExpression: '#status = :approved AND deadlineMs > :now AND keyId = :key',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':redeemed': 'redeemed',
              ':approved': 'approved',
              ':at': new Date(now).toISOString(),
              ':now': now,
              ':key': keyId,
            },
          },
        },
      ]);
    } catch (error) {
      if (!(error instanceof TransactionCancelledError)) throw error;
      const current = await this.get(teamId, approvalId);
      // Another key's held call is, to this caller, no call at all.
      throw refused(current && current.keyId === keyId ? current : undefined);
    }
    return (await this.get(teamId, approvalId))!;
  }
}

/** Where an approval stands at `now`, in words. */
function standing(approval: Approval, now: number): string {
  if ((approval.status === 'pending' || approval.status === 'approved') && approval.deadlineMs <= now) return 'expired';
  return approval.status === 'pending' ? 'not approved yet' : approval.status;
}

function approvalOf(item: Record<string, unknown>): Approval {
  const { pk: _pk, sk: _sk, expiresAt: _expires, ...approval } = item;
  return approval as unknown as Approval;
}

/**
 * An approval as the admin API and the audit trail show it: the call's name, never its
 * arguments (they may hold what the model was about to act on).
 *
 * @example
 * approvalView(approval) // { approval_id: 'apr_…', tool: 'drop_table', status: 'pending', ... }
 */
export function approvalView(approval: Approval, now = Date.now()) {
  return {
    approval_id: approval.approvalId,
    team: approval.teamId,
    key_id: approval.keyId,
    request_id: approval.requestId,
    model: approval.model,
    rule_id: approval.ruleId,
    tool: approval.call.name,
    status: standing(approval, now) === 'expired' ? 'expired' : approval.status,
    created_at: approval.createdAt,
    deadline: new Date(approval.deadlineMs).toISOString(),
    decided_by: approval.decidedBy ?? null,
    decided_at: approval.decidedAt ?? null,
  };
}
