"""Small vocabularies for people's names (Cyrillic, with a Latin spelling for e-mail addresses)."""

from __future__ import annotations

import random

FIRST = [("Анна", "anna"), ("Мария", "maria"), ("Елена", "elena"), ("Ольга", "olga"), ("Наталья", "natalia"),
         ("Ирина", "irina"), ("Татьяна", "tatiana"), ("Светлана", "svetlana"), ("Юлия", "yulia"),
         ("Екатерина", "ekaterina"), ("Алексей", "alexey"), ("Дмитрий", "dmitry"), ("Сергей", "sergey"),
         ("Андрей", "andrey"), ("Иван", "ivan"), ("Михаил", "mikhail"), ("Николай", "nikolay"),
         ("Павел", "pavel"), ("Артём", "artem"), ("Виктория", "victoria")]  # fmt: skip
LAST = [("Иванов", "ivanov"), ("Смирнов", "smirnov"), ("Кузнецов", "kuznetsov"), ("Попов", "popov"),
        ("Васильев", "vasiliev"), ("Петров", "petrov"), ("Соколов", "sokolov"), ("Михайлов", "mikhailov"),
        ("Новиков", "novikov"), ("Фёдоров", "fedorov"), ("Морозов", "morozov"), ("Волков", "volkov"),
        ("Алексеев", "alekseev"), ("Лебедев", "lebedev"), ("Семёнов", "semenov"), ("Егоров", "egorov"),
        ("Павлов", "pavlov"), ("Козлов", "kozlov"), ("Степанов", "stepanov"), ("Николаев", "nikolaev")]  # fmt: skip
FEMALE_ENDINGS = ("а", "я")


def person(rng: random.Random) -> tuple[str, str, str]:
    """(full name, latin handle for e-mails, gender)."""
    first, first_latin = rng.choice(FIRST)
    last, last_latin = rng.choice(LAST)
    female = first.endswith(FEMALE_ENDINGS)
    if female:
        last, last_latin = last + "а", last_latin + "a"
    return f"{last} {first}", f"{first_latin}.{last_latin}", "female" if female else "male"


def phone(rng: random.Random) -> str:
    return f"+79{rng.randrange(10**9):09d}"
