from importlib.resources import files


def greet(name):
    word = files("greeters.builtin").joinpath("bonjour.txt").read_text(encoding="utf-8").strip()
    return f"{word}, {name} !"
