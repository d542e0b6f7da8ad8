"""The demo data of the contract: an admin, a few restaurants with menus and their users,
and a few customers. Loading it twice changes nothing."""

from __future__ import annotations

ADMIN = ("admin@comanda.dev", "admin-password", "Comanda Admin")

RESTAURANTS = [
    {
        "name": "Cantina da Vila",
        "cuisine": "brasileira",
        "user": ("cantina@comanda.dev", "cantina-password", "Cantina da Vila"),
        "menu": [
            ("Feijoada completa", 4290, 50),
            ("Moqueca de peixe", 5890, 30),
            ("Pão de queijo (6 un.)", 1490, 200),
            ("Guaraná 350 ml", 690, 300),
        ],
    },
    {
        "name": "Sushi Kaito",
        "cuisine": "japonesa",
        "user": ("kaito@comanda.dev", "kaito-password", "Sushi Kaito"),
        "menu": [
            ("Combo 20 peças", 8990, 40),
            ("Temaki salmão", 3290, 60),
            ("Missoshiru", 1290, 80),
            ("Chá verde", 790, 100),
        ],
    },
    {
        "name": "Forno a Lenha",
        "cuisine": "pizzaria",
        "user": ("forno@comanda.dev", "forno-password", "Forno a Lenha"),
        "menu": [
            ("Pizza margherita", 5490, 60),
            ("Pizza calabresa", 5690, 60),
            ("Calzone", 4990, 30),
            ("Tiramisù", 2490, 25),
        ],
    },
]

CUSTOMERS = [
    ("ana@comanda.dev", "ana-password", "Ana Souza"),
    ("bruno@comanda.dev", "bruno-password", "Bruno Lima"),
    ("carla@comanda.dev", "carla-password", "Carla Dias"),
]
