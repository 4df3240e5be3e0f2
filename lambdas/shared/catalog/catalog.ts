import type { ProviderConnection } from '../providers/options';
import type { GatewayConfig, ModelEntry } from './schema';

/**
 * Read-only view of the validated config that the request path asks questions of: which model
 * does this id name, and which provider connection serves it.
 */
export class Catalog {
  private readonly modelsById: ReadonlyMap<string, ModelEntry>;

  constructor(readonly config: GatewayConfig) {
    this.modelsById = new Map(
      config.models.flatMap((model) => [
        [model.id, model] as const,
        ...model.aliases.map((alias) => [alias, model] as const),
      ]),
    );
  }

  /**
   * The catalog entry for a public model id or alias, or undefined.
   *
   * @example
   * catalog.findModel('mock-small')?.prices.inputMicrosPerMTok
   */
  findModel(idOrAlias: string): ModelEntry | undefined {
    return this.modelsById.get(idOrAlias);
  }

  /**
   * The model itself, then its fallbacks, in the order they are tried.
   *
   * @example
   * catalog.routeOf(catalog.findModel('claude-sonnet-4')!).map((m) => m.id)
   */
  routeOf(model: ModelEntry): ModelEntry[] {
    return [model, ...model.fallbacks.map((id) => this.modelsById.get(id)!)];
  }

  /** Every model in the catalog, in config order. */
  listModels(): readonly ModelEntry[] {
    return this.config.models;
  }

  /** The provider connection that serves a model (guaranteed to exist by config validation). */
  connectionOf(model: ModelEntry): ProviderConnection {
    const connection = this.config.providers[model.provider];
    if (!connection) throw new Error(`model ${model.id} names unknown provider ${model.provider}`);
    return connection;
  }
}
