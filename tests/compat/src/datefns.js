// date-fns 4, bundled to ESM (only the functions used are bundled). Fixed dates; local-time
// formatting expects UTC, as on Lambda.
import { addDays, addMonths, differenceInCalendarDays, format, formatDistanceStrict, parseISO,
         isWeekend, startOfWeek, eachDayOfInterval, formatISO } from "date-fns";

export const handler = async (event) => {
  const { from, to } = event.queryStringParameters;
  const a = parseISO(from);
  const b = parseISO(to);
  return {
    days: differenceInCalendarDays(b, a),
    distance: formatDistanceStrict(a, b),
    plus30: format(addDays(a, 30), "yyyy-MM-dd EEEE"),
    nextMonth: formatISO(addMonths(a, 1)),
    weekStart: format(startOfWeek(b, { weekStartsOn: 1 }), "PPP"),
    weekendDays: eachDayOfInterval({ start: a, end: b }).filter(isWeekend).length,
    offset: new Date(0).getTimezoneOffset(),
  };
};
