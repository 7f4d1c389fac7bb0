import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

const get = (path: string, headers: Record<string, string> = {}) => t.app.yoga.fetch(`http://wall.test${path}`, { headers });

describe('HTTP endpoints', () => {
  it('serves GraphiQL to browsers on GET /graphql', async () => {
    const response = await get('/graphql', { accept: 'text/html' });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/graphiql/i);
  });

  it('reports readiness with the views’ position and lag', async () => {
    const ann = await t.register();
    await t.command('publishPost', { body: 'counted' }, ann.token);
    await t.settle();
    const response = await get('/ready');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ready: boolean; position: string; head: string; lagEvents: number };
    expect(body).toMatchObject({ ready: true, lagEvents: 0 });
    expect(BigInt(body.position)).toBeGreaterThanOrEqual(BigInt(body.head));
  });

  it('exposes Prometheus metrics: commands by outcome, events applied, projection lag', async () => {
    const ann = await t.register();
    await t.command('publishPost', { body: 'measured' }, ann.token);
    await t.gql(`mutation { publishPost(input: { body: "" }) { position } }`, {}, { token: ann.token });
    await t.settle();
    const text = await (await get('/metrics')).text();
    expect(text).toMatch(/wall_commands_total\{command="PublishPost",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/wall_commands_total\{command="PublishPost",outcome="BAD_USER_INPUT"\} 1/);
    expect(text).toMatch(/wall_command_duration_seconds_count\{command="RegisterUser"\} [1-9]/);
    expect(text).toMatch(/wall_projector_events_applied_total [1-9]/);
    expect(text).toMatch(/wall_projection_lag_events 0/);
  });

  it('answers /health', async () => {
    expect((await get('/health')).status).toBe(200);
  });
});
