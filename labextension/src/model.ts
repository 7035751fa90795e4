// One poller for the panel and the status bar: at most one request a second, never two at once.
import { Signal } from '@lumino/signaling';
import { IRun, listRuns } from './api';

export class RunsModel {
  runs: IRun[] = [];
  error = '';
  readonly changed = new Signal<this, void>(this);

  constructor(private period = 1000) {
    void this.poll();
  }

  private async poll(): Promise<void> {
    try {
      this.runs = await listRuns();
      this.error = '';
    } catch (e) {
      this.error = `The runs could not be listed: ${(e as Error).message}`;
    }
    this.changed.emit();
    setTimeout(() => void this.poll(), this.period);
  }

  get training(): IRun[] {
    return this.runs.filter(r => r.state === 'running');
  }

  find(id: string): IRun | undefined {
    return this.runs.find(r => r.id === id);
  }
}
