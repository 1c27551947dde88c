"""The portal's words in English and Russian, one entry per phrase (the statements keep theirs in
report_templates/messages)."""

from __future__ import annotations

from collections.abc import Callable

from pulse.core.vocabulary import LOCALES

TEXT: dict[str, tuple[str, str]] = {
    # chrome
    "portal": ("Pulse reports", "Pulse: отчёты"),
    "language": ("Language", "Язык"),
    "sign_in": ("Sign in", "Войти"),
    "sign_out": ("Sign out", "Выйти"),
    "email": ("Email", "Эл. почта"),
    "password": ("Password", "Пароль"),
    "wrong_credentials": ("Wrong email or password.", "Неверный адрес или пароль."),
    "locked": (
        "Too many failed attempts: try again in {minutes} min.",
        "Слишком много неудачных попыток: повторите через {minutes} мин.",
    ),
    "expired_form": ("The form expired: please send it again.", "Форма устарела: отправьте её ещё раз."),
    "forbidden": ("Your role does not allow this page.", "Ваша роль не даёт доступа к этой странице."),
    "not_found": ("Not found.", "Не найдено."),
    "saved": ("Saved.", "Сохранено."),
    "fix_fields": ("Please correct the fields marked below.", "Исправьте отмеченные поля."),
    "warehouse_down": (
        "The warehouse does not answer now: nothing was saved, try again.",
        "Хранилище сейчас не отвечает: ничего не сохранено, повторите.",
    ),
    # subscriptions
    "subscriptions": ("Subscriptions", "Рассылки"),
    "new_subscription": ("New subscription", "Новая рассылка"),
    "edit": ("Edit", "Изменить"),
    "name": ("Name", "Название"),
    "description": ("Description", "Описание"),
    "report": ("Report", "Отчёт"),
    "audience": ("Audience", "Получатели"),
    "schedule": ("Schedule", "Расписание"),
    "next_fires": ("Next five runs", "Ближайшие пять запусков"),
    "next_run": ("Next run", "Следующий запуск"),
    "enabled": ("Active", "Активна"),
    "paused": ("Paused", "Приостановлена"),
    "pause": ("Pause", "Приостановить"),
    "resume": ("Resume", "Возобновить"),
    "delete": ("Delete", "Удалить"),
    "delete_confirm": (
        "Delete this subscription? Its ledger is kept.",
        "Удалить рассылку? Журнал отправок сохранится.",
    ),
    "deleted": ("Deleted.", "Удалено."),
    "save": ("Save", "Сохранить"),
    "check_recipients": ("Preview recipients", "Показать получателей"),
    "recipients": ("Recipients", "Получатели"),
    "recipients_count": ("{count} recipient rows; the first {shown}:", "Строк получателей: {count}; первые {shown}:"),
    "attachments": ("Attachments besides the PDF", "Вложения помимо PDF"),
    "attached": ("Attached", "Вложения"),
    "none": ("none", "нет"),
    "frequency": ("Repeats", "Повтор"),
    "monthly": ("Monthly", "Ежемесячно"),
    "weekly": ("Weekly", "Еженедельно"),
    "daily": ("Daily", "Ежедневно"),
    "cron": ("Cron expression", "Выражение cron"),
    "wd.mon": ("Mon", "Пн"),
    "wd.tue": ("Tue", "Вт"),
    "wd.wed": ("Wed", "Ср"),
    "wd.thu": ("Thu", "Чт"),
    "wd.fri": ("Fri", "Пт"),
    "wd.sat": ("Sat", "Сб"),
    "wd.sun": ("Sun", "Вс"),
    "day_of_month": ("Day of the month", "День месяца"),
    "weekday": ("Weekday", "День недели"),
    "time": ("Time", "Время"),
    "time_zone": ("Time zone", "Часовой пояс"),
    "hospital_ids": ("Only these hospital ids (blank: all)", "Только больницы с id (пусто: все)"),
    "sales_rep_ids": ("Only these sales rep ids (blank: all)", "Только представители с id (пусто: все)"),
    "counterparty_ids": ("Only these counterparty ids (blank: all)", "Только контрагенты с id (пусто: все)"),
    "team_email": ("Address that receives the statements", "Адрес, на который приходят выписки"),
    "static_recipients": ("One per line: {shape}", "По одному в строке: {shape}"),
    "recipient_query": ("Recipient query (ClickHouse SELECT)", "Запрос получателей (SELECT ClickHouse)"),
    # presets
    "preset.hospital_contacts": (
        "Contacts of hospitals with a machine in service",
        "Контакты больниц с работающим автоматом",
    ),
    "preset.consenting_customers": (
        "Customers who agreed to statements by email",
        "Клиенты, согласные на выписки по почте",
    ),
    "preset.counterparties": ("Counterparties (to a team address)", "Контрагенты (на адрес отдела)"),
    "preset.sales_reps": ("Sales reps, each for their territory", "Торговые представители, каждому его территория"),
    "preset.static_list": ("A static list", "Постоянный список"),
    "preset.custom": ("Custom recipient query", "Свой запрос получателей"),
    # report kinds
    "kind.hospital_statement": ("Hospital commission statement", "Выписка по комиссии больницы"),
    "kind.customer_statement": ("Customer account statement", "Выписка по счёту клиента"),
    "kind.executive_weekly": ("Executive weekly summary", "Еженедельная сводка для руководства"),
    "kind.counterparty_statement": ("Counterparty settlement statement", "Акт сверки с контрагентом"),
    "kind.sales_rep_statement": ("Sales rep monthly statement", "Ежемесячный отчёт торгового представителя"),
    # actions
    "preview": ("Preview the PDF", "Предпросмотр PDF"),
    "recipient": ("Recipient", "Получатель"),
    "period": ("Period", "Период"),
    "period_hint": (
        "YYYY-MM, or YYYY-Www for weekly reports; blank: the period of the latest run",
        "ГГГГ-ММ или ГГГГ-Wнн для еженедельных; пусто: период последнего запуска",
    ),
    "send_now": ("Send now", "Отправить сейчас"),
    "send_to": ("Send to", "Кому"),
    "everyone": ("Everyone", "Всем"),
    "send_result": (
        "Period {period}: {sent} sent, {skipped} skipped, {failed} failed ({already} sent before, not again).",
        "Период {period}: отправлено {sent}, пропущено {skipped}, ошибок {failed} (ранее отправленные не повторяются: {already}).",
    ),
    "not_a_recipient": (
        "{email} is not among this subscription's recipients.",
        "{email} нет среди получателей рассылки.",
    ),
    "requeue": ("Requeue failed statements", "Повторить неудачные"),
    "requeue_in_doubt": (
        "Also those in doubt (I checked they did not arrive)",
        "И сомнительные (я проверил, что они не дошли)",
    ),
    "requeue_confirm": (
        "Send these statements again with the next run?",
        "Отправить эти выписки ещё раз со следующим запуском?",
    ),
    "requeued": (
        "{count} statements requeued; they go out with the next run (or Send now).",
        "Повторно поставлено в очередь: {count}; уйдут со следующим запуском (или «Отправить сейчас»).",
    ),
    "ledger": ("Delivery ledger", "Журнал отправок"),
    "state": ("State", "Статус"),
    "all": ("all", "все"),
    "filter": ("Filter", "Фильтр"),
    "attempts": ("Attempts", "Попытки"),
    "error": ("Reason", "Причина"),
    "sent_at": ("Sent", "Отправлено"),
    "more": ("More", "Ещё"),
    "no_rows": ("Nothing yet.", "Пока ничего."),
    # recipient page
    "your_subscriptions": ("Your report subscriptions", "Ваши рассылки отчётов"),
    "for_address": ("For {email}", "Для {email}"),
    "receiving": ("You receive it", "Вы получаете"),
    "not_receiving": ("You left it", "Вы отписались"),
    "unsubscribe": ("Unsubscribe", "Отписаться"),
    "resubscribe": ("Subscribe again", "Подписаться снова"),
    "statements_language": ("Language of your statements", "Язык ваших выписок"),
    "your_statements": ("Your latest statements", "Ваши последние выписки"),
    "bad_link": ("This link is not valid", "Ссылка недействительна"),
    "bad_link_hint": (
        "Use the link in your latest statement email.",
        "Воспользуйтесь ссылкой из последнего письма с выпиской.",
    ),
    # sales rep
    "my_statements": ("My statements", "Мои отчёты"),
    "my_territory": ("My territory: {count} hospitals", "Моя территория: больниц {count}"),
    "state.pending": ("pending", "ожидает"),
    "state.sending": ("sending", "отправляется"),
    "state.sent": ("sent", "отправлено"),
    "state.failed": ("failed", "ошибка"),
    "state.skipped": ("skipped", "пропущено"),
    "state.in_doubt": ("in doubt", "под сомнением"),
}


def translator(locale: str) -> Callable[..., str]:
    index = LOCALES.index(locale) if locale in LOCALES else 0

    def t(key: str, **values: object) -> str:
        text = TEXT[key][index]
        return text.format(**values) if values else text

    return t
