"""A synthetic translation task whose every answer can be checked: numbers in English words
and in Chinese numerals.

    number_translation(3, seed=0)   ->  [("three hundred and twelve", "三百一十二"), ...]

Swap the pairs (``[(zh, en) for en, zh in pairs]``) to translate the other way. The two
languages group digits differently (English by thousands, Chinese by ten-thousands: 万, 亿),
so a model has to learn more than a word-for-word lookup.

English, British style: ``and`` before the last two digits (``one hundred and one``,
``one thousand and five``), hyphens in ``twenty-one``.

Chinese, the standard written rules:
- digits 零一二三四五六七八九, units 十 百 千 inside a group of four digits, 万 and 亿 after
  a group;
- one 零 stands for any run of missing places between two digits: 一千零五 (1005), 一千零五十
  (1050), 一万零五 (10005), 一亿零五万 (100050000); no 零 at the end: 一千五百 (1500);
- 一十 shortens to 十 only at the very start: 十 (10), 十二 (12), 十万 (100000); inside a number
  it stays: 一百一十 (110), 一千零一十 (1010);
- 二 throughout (二百, 二千, 二万), the form written in figures-to-words conversions; the
  spoken 两百/两千/两万 are the same numbers.
"""
import random

__all__ = ["english_number", "chinese_number", "number_translation"]

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ("", "十", "百", "千")          # inside a group of four digits
_ZH_GROUPS = ("", "万", "亿")               # after a group: 10^0, 10^4, 10^8
_LIMIT = 10**12


def _check(n):
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < _LIMIT:
        raise ValueError(f"expected an int in 0..{_LIMIT - 1}, got {n!r}")


def _english_below_100(n):
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _english_below_1000(n):
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _english_below_100(rest)
    words = f"{_ONES[hundreds]} hundred"
    return f"{words} and {_english_below_100(rest)}" if rest else words


def english_number(n):
    """``n`` (0 <= n < 10^12) in English words.

    >>> english_number(312), english_number(1005), english_number(2_000_021)
    ('three hundred and twelve', 'one thousand and five', 'two million and twenty-one')
    """
    _check(n)
    if n == 0:
        return "zero"
    parts = []
    for value, name in _SCALES:
        if n >= value:
            parts.append(f"{_english_below_1000(n // value)} {name}")
            n %= value
    if n:
        parts.append(f"and {_english_below_100(n)}" if parts and n < 100
                     else _english_below_1000(n))
    return " ".join(parts)


def _chinese_group(n):
    """A group 1..9999 with 十百千; one 零 for each run of zeros between two digits."""
    out, zero = "", False
    for place in (3, 2, 1, 0):
        digit = n // 10**place % 10
        if digit == 0:
            zero = zero or bool(out)
            continue
        out += ("零" if zero else "") + _ZH_DIGITS[digit] + _ZH_UNITS[place]
        zero = False
    return out


def chinese_number(n):
    """``n`` (0 <= n < 10^12) in Chinese numerals.

    >>> chinese_number(312), chinese_number(1005), chinese_number(10), chinese_number(100050000)
    ('三百一十二', '一千零五', '十', '一亿零五万')
    """
    _check(n)
    if n == 0:
        return "零"
    groups = [n // 10**(4 * i) % 10**4 for i in range(3)]      # low to high: 个, 万, 亿
    out, zero = "", False
    for i in (2, 1, 0):
        if groups[i] == 0:
            zero = zero or bool(out)
            continue
        if out and (zero or groups[i] < 1000):                  # places missing in between
            out += "零"
        out += _chinese_group(groups[i]) + _ZH_GROUPS[i]
        zero = False
    return out[1:] if out.startswith("一十") else out


def number_translation(n, seed=0, max_value=9999):
    """``n`` distinct numbers from 0..max_value as (English words, Chinese numerals) pairs.

    The numbers are drawn without replacement by ``random.Random(seed)``: the same seed gives
    the same pairs on every machine.

    >>> number_translation(2, seed=1, max_value=20)
    [('four', '四'), ('eighteen', '十八')]
    """
    _check(max_value)
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= max_value + 1:
        raise ValueError(f"number_translation: n must be an int in 1..{max_value + 1} (distinct "
                         f"numbers from 0..max_value={max_value}), got {n!r}")
    values = random.Random(seed).sample(range(max_value + 1), n)
    return [(english_number(v), chinese_number(v)) for v in values]
