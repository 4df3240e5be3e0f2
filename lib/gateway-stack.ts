import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { LlmGateway, type LlmGatewayProps } from './llm-gateway';

/** Props of the standalone gateway stack. */
export interface GatewayStackProps extends StackProps {
  gateway?: LlmGatewayProps;
}

/** A stack holding one gateway and the outputs its users need. */
export class GatewayStack extends Stack {
  readonly gateway: LlmGateway;

  constructor(scope: Construct, id: string, props: GatewayStackProps = {}) {
    super(scope, id, props);
    this.gateway = new LlmGateway(this, 'Gateway', props.gateway);
    new CfnOutput(this, 'ApiUrl', { value: this.gateway.url, description: 'Base URL; OpenAI clients use <ApiUrl>v1' });
    new CfnOutput(this, 'StreamUrl', {
      value: this.gateway.streamUrl,
      description: 'Streaming base URL (REST API stage, response streaming); OpenAI clients use <StreamUrl>v1',
    });
    if (this.gateway.consoleUrl) {
      new CfnOutput(this, 'ConsoleUrl', {
        value: this.gateway.consoleUrl,
        description:
          'Admin and usage routes for signed-in users (single sign-on); send the token as Authorization: Bearer',
      });
    }
    new CfnOutput(this, 'IdentityTableName', { value: this.gateway.tables.identity.tableName });
    new CfnOutput(this, 'UsageTableName', { value: this.gateway.tables.usage.tableName });
    new CfnOutput(this, 'CountersTableName', { value: this.gateway.tables.counters.tableName });
    new CfnOutput(this, 'AuditTableName', { value: this.gateway.tables.audit.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.gateway.observability.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.gateway.observability.alarmTopic.topicArn,
      description: 'Alarms and budget alerts; subscribe (email, chat) here',
    });
  }
}
