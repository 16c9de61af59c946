"""A1111's own answers for prompt scheduling, emphasis, AND and extra-network tags on generated prompts.

Usage: python3 make_prompt_fixture.py A1111_CHECKOUT OUT_JSON

Imports modules/prompt_parser.py from an AUTOMATIC1111 stable-diffusion-webui checkout (needs the `lark`
package; torch is stubbed, the functions used here do not touch it). Extra-network tags are A1111's regex
<(\\w+):([^>]+)> applied with re.sub, as extra_networks.parse_prompt does (importing that module pulls in the
whole webui).

The schedule parser is a lark Earley grammar whose ambiguities are resolved through set iteration order, which
depends on PYTHONHASHSEED. Each schedule is therefore computed under hash seeds 0..7 (0..63 where those disagree),
in separate processes, and every distinct outcome is recorded; prompts with more than 8 outcomes are left out.
"""
import json, os, random, re, subprocess, sys, types

SEEDS, MORE_SEEDS, MAX_OUTCOMES = 8, 64, 8
EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")


def load_prompt_parser(a1111):
    sys.modules.setdefault("torch", types.ModuleType("torch"))
    sys.path.insert(0, a1111)
    from modules import prompt_parser
    return prompt_parser


# ---- prompt generators (seeded, so the fixture is reproducible) ----

def random_chars(rng):
    alphabet = ['a', 'b', 'c', ' ', ' ', '[', ']', '(', ')', ':', ':', '|', '\\', '1', '2', '.', '5', '-', '+', 'e', '\n',
                'AND', 'BREAK', ',', '\t', '\u00a0', '\u3000', 'é', '²', '_', '<', '>']
    return ''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))


def structured(rng, max_depth, depth=0):
    kind = rng.randint(0, 9 if depth < max_depth else 2)
    if kind <= 2:
        return rng.choice(['a', 'b c', ' ', 'cat', 'x y', '\\(', '\\:', '', 'dog ', '1', '\\|', 'é'])
    sub = lambda: structured(rng, max_depth, depth + 1)
    num = lambda: rng.choice(['1', '2', '3', '0', '5', '.5', '0.25', '1.5', '10', '12', '-1', '2.', '1e1', '+2', '0.99',
                              '.1', '1.0', '0.3', '0.29', '7'])
    ws = lambda: rng.choice(['', '', ' ', '  '])
    if kind == 3: return '(' + sub() + ')'
    if kind == 4: return '(' + sub() + ':' + rng.choice(['1.2', sub()]) + ')'
    if kind == 5: return '[' + sub() + ']'
    if kind == 6: return '[' + sub() + ':' + sub() + ':' + ws() + num() + ws() + ']'
    if kind == 7: return '[' + sub() + ':' + ws() + num() + ws() + ']'
    if kind == 8: return '[' + '|'.join(sub() for _ in range(rng.randint(2, 4))) + ']'
    return sub() + sub()


def mutated(rng, prompt):
    for _ in range(rng.randint(0, 2)):
        i = rng.randint(0, len(prompt))
        op = rng.randint(0, 2)
        if op == 0: prompt = prompt[:i] + rng.choice('[]():|\\ ') + prompt[i:]
        elif op == 1 and prompt: prompt = prompt[:i] + prompt[i + 1:]
        else: prompt = prompt[:i] + rng.choice([']', ')', ':', '[', '(']) * 2 + prompt[i:]
    return prompt


def schedule_prompts(count, seed, max_depth):
    rng, prompts = random.Random(seed), set()
    while len(prompts) < count:
        r = rng.random()
        p = random_chars(rng) if r < 0.3 else structured(rng, max_depth) if r < 0.65 else mutated(rng, structured(rng, max_depth))
        prompts.add(p)
    return sorted(prompts)


def emphasis_prompts(count, seed):
    rng, out = random.Random(seed), set()
    pick = rng.choice
    word = lambda: pick(['a', 'cat', 'red dog', ' ', '', 'x,y', 'BREAK', 'AND', 'é', '١', '_', '\\', '\\(', '\\)', '\\[', '\\]',
                         '\\\\', '\\a', ':', '\n', '\t', '\u00a0', '\x1c', 'ANDROID', 'xAND', 'AND_', 'BREAKx', ',BREAK,', '²'])
    num = lambda: pick(['1', '1.5', '.5', '1.', '0', '-1', '+2', '1.2.3', '.', '+.', '١.٥', '0.1', '3.14159', '10', '00.50',
                        '1e5', '', ' 1.3 ', '99999999999999999999999999'])

    def emph(d=0):
        k = rng.randint(0, 8 if d < 4 else 1)
        if k <= 1: return word()
        if k == 2: return '(' + emph(d + 1) + ')'
        if k == 3: return '[' + emph(d + 1) + ']'
        if k == 4: return '(' + emph(d + 1) + ':' + num() + ')'
        if k == 5: return pick(['(', '[', ')', ']', ':']) + emph(d + 1)
        if k == 6: return emph(d + 1) + pick([' BREAK ', 'BREAK', ' BREAK', '\nBREAK\n'])
        return emph(d + 1) + emph(d + 1)

    def composed():
        parts = [emph() + pick(['', '', ':' + num(), ' :' + num(), ' : ' + num() + ' ', ':' + num() + '\n', '  '])
                 for _ in range(rng.randint(1, 4))]
        return pick([' AND ', 'AND', ' AND', '\nAND\n', 'ANDAND', ' and ']).join(parts)

    def tagged():
        tag = pick(['<lora:x:1>', '<lora:name:0.8:te=1>', '<hypernet:h>', '<lyco:a=b=c:d>', '<:x>', '<lora:>', '<lora:a<b>',
                    '<lora:a\nb:1>', '<é1:z>', '<a-b:c>', '<lora x:1>', '<<lora:a:1>>', '<lora::>', '<lora:a:>', '<x_y:1:2:3>',
                    '<lora:a', 'lora:a>', '<²:q>'])
        return pick(['', 'a ', 'a, ', ' ']) + tag + pick(['', ' b', ', b', tag, ' ' + tag])

    while len(out) < count // 2: out.add(emph())
    while len(out) < count * 5 // 6: out.add(composed())
    while len(out) < count: out.add(tagged())
    return sorted(out)


# ---- schedules under several hash seeds ----

CONFIGS = [(10, None, False), (7, None, False), (1, None, False), (30, None, False), (10, 10, False), (10, 4, False),
           (10, None, True), (8, 6, True)]


def worker(a1111):
    pp = load_prompt_parser(a1111)
    cases = json.load(sys.stdin)
    json.dump([pp.get_learned_conditioning_prompt_schedules([p], s, h, o)[0] for p, s, h, o in cases], sys.stdout)


def outcomes_under_seeds(a1111, cases, seeds):
    found = [set() for _ in cases]
    for seed in seeds:
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        run = subprocess.run([sys.executable, __file__, '--worker', a1111], input=json.dumps(cases), capture_output=True,
                             text=True, env=env, check=True)
        for i, outcome in enumerate(json.loads(run.stdout)):
            found[i].add(json.dumps(outcome))
    return found


def main(a1111, out_path):
    pp = load_prompt_parser(a1111)
    prompts = schedule_prompts(700, 1111, 3) + schedule_prompts(200, 4242, 5)
    cases = [(p, *CONFIGS[i % len(CONFIGS)]) for i, p in enumerate(prompts)]
    found = outcomes_under_seeds(a1111, cases, range(SEEDS))
    ambiguous = [i for i, f in enumerate(found) if len(f) > 1]
    for i, f in zip(ambiguous, outcomes_under_seeds(a1111, [cases[i] for i in ambiguous], range(SEEDS, MORE_SEEDS))):
        found[i] |= f

    lines = {'schedules': [], 'texts': []}
    for (p, steps, hires, old), f in zip(cases, found):
        if len(f) <= MAX_OUTCOMES:
            lines['schedules'].append({'prompt': p, 'steps': steps, 'hires': hires, 'old': old,
                                       'outcomes': [json.loads(x) for x in sorted(f)]})
    # Each text through parse_prompt_attention, get_multicond_prompt_list and the extra-network regex.
    for text in sorted(set(emphasis_prompts(1200, 2222)) | set(prompts)):
        case = {'text': text}
        try:
            case['fragments'] = [[t, repr(float(w))] for t, w in pp.parse_prompt_attention(text)]
        except ValueError:   # float() of a weight like "1.2.3": A1111 fails the generation
            case['error'] = True
        indexes, flat, _ = pp.get_multicond_prompt_list([text])
        case['parts'] = [[flat[i], repr(float(w))] for i, w in indexes[0]]
        tags = []
        rest = EXTRA_NETWORK.sub(lambda m: tags.append([m.group(1), m.group(2).split(':')]) or '', text)
        if tags:   # absent: no tag, text unchanged
            case['rest'] = rest
            case['tags'] = [t for kind in dict.fromkeys(k for k, _ in tags) for t in tags if t[0] == kind]   # defaultdict order
        lines['texts'].append(case)

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, 'w', encoding='utf-8') as f:   # one case per line: readable diffs
        f.write('{\n')
        for n, (section, items) in enumerate(lines.items()):
            f.write(f'"{section}": [\n')
            f.write(',\n'.join(json.dumps(item, ensure_ascii=False) for item in items))
            f.write('\n]' + (',\n' if n < len(lines) - 1 else '\n'))
        f.write('}\n')
    print(f"{len(lines['schedules'])} schedules ({sum(len(x['outcomes']) > 1 for x in lines['schedules'])} seed-dependent), "
          f"{len(lines['texts'])} texts for emphasis / AND / extra networks")


if __name__ == '__main__':
    if sys.argv[1] == '--worker':
        worker(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
