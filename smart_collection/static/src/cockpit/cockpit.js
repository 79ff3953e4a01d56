/** @odoo-module **/
// The collector's cockpit: every figure comes from collection.cockpit._collection_kpis,
// the same computation as the monthly PDF report.

import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

function iso(day) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

function periodDates(period) {
    const today = new Date();
    const y = today.getFullYear();
    const m = today.getMonth();
    switch (period) {
        case "last_month":
            return [iso(new Date(y, m - 1, 1)), iso(new Date(y, m, 0))];
        case "last_3_months":
            return [iso(new Date(y, m - 2, 1)), iso(today)];
        case "this_year":
            return [iso(new Date(y, 0, 1)), iso(today)];
        default:
            return [iso(new Date(y, m, 1)), iso(today)];
    }
}

export class CollectionCockpit extends Component {
    static template = "smart_collection.CollectionCockpit";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.periods = [
            ["this_month", _t("This month")],
            ["last_month", _t("Last month")],
            ["last_3_months", _t("Last 3 months")],
            ["this_year", _t("This year")],
        ];
        this.state = useState({
            period: "this_month",
            companyId: false,
            userId: false,
            categoryId: false,
            data: null,
        });
        onWillStart(() => this.load());
    }

    get bucketCodes() {
        return ["not_due", "1_30", "31_60", "61_90", "over_90"];
    }

    filterArgs() {
        const [dateFrom, dateTo] = periodDates(this.state.period);
        return {
            date_from: dateFrom,
            date_to: dateTo,
            company_ids: this.state.companyId ? [this.state.companyId] : null,
            user_id: this.state.userId || null,
            category_id: this.state.categoryId || null,
        };
    }

    async load() {
        const args = this.filterArgs();
        this.state.data = await this.orm.call(
            "collection.cockpit",
            "collection_cockpit_data",
            [args.date_from, args.date_to],
            { company_ids: args.company_ids, user_id: args.user_id, category_id: args.category_id }
        );
    }

    async onFilterChange(key, ev) {
        const value = ev.target.value;
        this.state[key] = key === "period" ? value : parseInt(value) || false;
        await this.load();
    }

    money(value) {
        if (value === null || value === undefined) {
            return "-";
        }
        const currency = this.state.data.kpis.currency;
        return `${value.toLocaleString(undefined, {
            minimumFractionDigits: 2,
            maximumFractionDigits: 2,
        })} ${currency}`;
    }

    ratio(value, unit) {
        return value === null || value === undefined ? "-" : `${value.toFixed(1)}${unit}`;
    }

    bar(value, values) {
        // Credits (negative) are drawn as wide as their amount; the colour tells them apart.
        const max = Math.max(...values.map((v) => Math.abs(v)), 1);
        const width = Math.round((Math.abs(value) / max) * 100);
        return width ? `height: 1rem; width: ${width}%` : "display: none";
    }

    get bucketValues() {
        return this.bucketCodes.map((code) => this.state.data.kpis.aging[code]);
    }

    get forecastValues() {
        return this.state.data.kpis.forecast.map((row) => row.amount);
    }

    entries(obj) {
        return Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
    }

    channelLabel(code) {
        return this.state.data.labels.channels[code] || code;
    }

    levelLabel(code) {
        return code === "none" ? this.state.data.labels.none : code;
    }

    openPartner(partnerId) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "res.partner",
            res_id: partnerId,
            views: [[false, "form"]],
        });
    }

    openTasks() {
        this.action.doAction("smart_collection.action_collection_todo");
    }

    openAging(bucket) {
        this.action.doAction("smart_collection.action_collection_report_aging", {
            additionalContext: bucket ? { search_default_bucket: bucket } : {},
        });
    }

    async printReport() {
        const args = this.filterArgs();
        const action = await this.orm.call(
            "collection.cockpit",
            "collection_print_report",
            [args.date_from, args.date_to],
            { company_ids: args.company_ids, user_id: args.user_id, category_id: args.category_id }
        );
        this.action.doAction(action);
    }
}

registry.category("actions").add("smart_collection.collection_cockpit", CollectionCockpit);
