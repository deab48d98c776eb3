/** The EventBridge Scheduler stand-in: one-time schedules become virtual-time timers. */
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException } from '@aws-sdk/client-scheduler';

/** `at(2026-11-30T10:00:00)` in UTC -> epoch ms. */
const parseAt = (expression: string): number => {
  const m = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (!m) throw new Error(`the local Scheduler supports only one-time at(...) expressions, got '${expression}'`);
  return Date.parse(`${m[1]}Z`);
};

/** EventBridge Scheduler: one-time schedules invoke their target (asynchronously) when due. */
export const localScheduler = (invoke: (functionArn: string, payload: unknown) => void) => {
  const schedules = new Map<string, ReturnType<typeof setTimeout>>();
  return {
    schedules,
    send: async (command: unknown): Promise<unknown> => {
      if (command instanceof CreateScheduleCommand) {
        const { Name, GroupName, ScheduleExpression, Target } = command.input;
        const key = `${GroupName ?? 'default'}/${Name}`;
        if (schedules.has(key)) throw new ConflictException({ message: `Schedule ${Name} already exists.`, Message: `Schedule ${Name} already exists.`, $metadata: {} });
        const at = parseAt(ScheduleExpression!);
        const timer = setTimeout(() => {
          schedules.delete(key);
          invoke(Target!.Arn!, JSON.parse(Target!.Input ?? '{}'));
        }, Math.max(0, at - Date.now()));
        schedules.set(key, timer);
        return { ScheduleArn: `arn:aws:scheduler:us-east-1:000000000000:schedule/${key}` };
      }
      if (command instanceof DeleteScheduleCommand) {
        const key = `${command.input.GroupName ?? 'default'}/${command.input.Name}`;
        const timer = schedules.get(key);
        if (!timer) throw new ResourceNotFoundException({ message: `Schedule ${command.input.Name} does not exist.`, Message: `Schedule ${command.input.Name} does not exist.`, $metadata: {} });
        clearTimeout(timer);
        schedules.delete(key);
        return {};
      }
      throw new Error(`the local Scheduler does not implement ${(command as object).constructor.name}`);
    },
  };
};
