"""MARKETING: legitimate 106-port marketing with signature and opt-out."""
from .common import family, BANKS, TELCOS, COMMUNITIES, brand_host

L = "MARKETING"
RETAIL = ["优衣库", "李宁", "安踏", "耐克", "屈臣氏", "名创优品", "周大福", "老凤祥", "苏宁易购", "国美", "永辉超市",
          "沃尔玛", "华为商城", "小米商城", "唯品会", "天猫", "京东", "淘宝", "拼多多", "太平鸟", "波司登", "丝芙兰",
          "完美日记", "良品铺子", "三只松鼠", "宜家家居", "迪卡侬", "红蜻蜓"]
DRINKS = ["拿铁", "生椰拿铁", "美式咖啡", "多肉葡萄", "芝芝莓莓", "柠檬茶", "奶茶", "杨枝甘露", "抹茶拿铁"]
FAST = ["原味鸡", "汉堡", "薯条", "鸡翅", "香辣鸡腿堡", "全家桶", "披萨", "冰淇淋", "早餐套餐"]
DINE = ["双人套餐", "招牌菜", "四人餐", "酸菜鱼", "涮肉拼盘", "午市套餐"]
FOOD_ITEMS = {"肯德基": FAST, "麦当劳": FAST, "必胜客": FAST, "塔斯汀": FAST, "华莱士": FAST, "汉堡王": FAST, "DQ": FAST,
              "星巴克": DRINKS, "瑞幸咖啡": DRINKS, "喜茶": DRINKS, "奈雪的茶": DRINKS, "蜜雪冰城": DRINKS,
              "库迪咖啡": DRINKS, "海底捞": DINE, "西贝莜面村": DINE, "太二酸菜鱼": DINE}
FOOD = list(FOOD_ITEMS)
EDU = ["新东方", "学而思", "网易有道", "猿辅导", "作业帮", "粉笔教育", "中公教育", "华图教育", "英语流利说", "斑马"]


def ending(r, brand, url_p=0.35):
    url = ""
    if r.random() < url_p:
        host = brand_host(brand)
        url = r.pick([" ", "，戳 ", "，详情 ", "，立即抢购 ", "：", " 点击 "]) + (r.short_url(host) if host and r.random() < 0.5
                                                                          else r.short_url()) + " "
    extra = r.maybe(0.4, "，" + r.pick(["活动详情以官方公布为准", "数量有限，先到先得",
                                        "具体以活动页面为准", "活动期间每人限享一次", "不与其他优惠同享"]))
    return (extra + url + r.pick(["，", "。", " ", "！"]) + r.optout()).replace("  ", " ")


def offer(r):
    a = r.pick([100, 150, 199, 200, 299, 300, 399, 500, 999])
    return r.pick([f"满{a}减{a // r.pick([2, 3, 5, 10])}", f"全场{r.pick([5, 6, 7, 8, 8.8, 9])}折起",
                   f"第二件半价", f"买一送一", f"低至{r.pick([1.9, 9.9, 19.9, 29, 49])}元", f"立减{r.pick([10, 20, 30, 50, 100])}元",
                   f"会员专享{r.pick([7, 8, 8.5, 9])}折", f"积分翻倍", f"满{a}送{a // 5}元券"])


@family(L, "mkt_retail_sale", weight=1.3)
def retail(r):
    b = r.pick(RETAIL)
    body = r.pick([f"{r.pick(['夏季', '冬季', '换季', '周年庆', '年中', '春节'])}大促进行中，{offer(r)}，{offer(r)}，"
                   f"{r.pick(['仅限3天', '活动截至' + r.md(0), '门店与App同享', '先到先得'])}",
                   f"亲爱的会员，{r.pick(['本周末', '即日起', '今天起'])}全场{offer(r)}，更有{offer(r)}，快来选购吧",
                   f"您的专属福利已到账：{offer(r)}，{r.pick(['全品类可用', '新品可用', '线上线下通用'])}，{r.md(0)}到期"])
    return r.vary(r.sig(b, body + ending(r, b), 0.15))


@family(L, "mkt_food_member_day", weight=1.2)
def food(r):
    b = r.pick(FOOD)
    item = r.pick(FOOD_ITEMS[b])
    deal = r.pick(["第二份半价", "买一送一", "9.9元", "立减5元", "会员价8折", "加1元多一份"])
    body = r.pick([f"会员日来啦！{item}{deal}，快来门店或App下单吧",
                   f"{r.pick(['周一', '周三', '周四', '周五', '周末'])}{r.pick(['疯狂', '福利', '狂欢', '会员'])}日，"
                   f"{item}{r.pick(['9.9元', '19.9元', '第二杯半价', '买一送一'])}，{r.pick(['限时', '限量', '全国门店'])}供应",
                   f"您有{r.randint(1, 5)}张{r.pick([5, 8, 10, 15, 20])}元{item}券即将过期，记得使用哦",
                   f"新品上市！{r.pick(['春季限定', '秋冬限定', '联名款', '全新口味'])}{item}，尝鲜价{r.pick([9.9, 12.9, 15, 19.9])}元"])
    return r.vary(r.sig(b, body + ending(r, b), 0.12))


@family(L, "mkt_telecom_package")
def telecom(r):
    t, hot = r.pick(TELCOS)
    body = r.pick([f"尊敬的客户，您可升级{r.pick([5, 10, 20, 30])}GB流量包，每月仅需{r.pick([5, 10, 15, 20])}元，回复“BL”即可办理",
                   f"5G畅享套餐限时特惠，月费{r.pick([99, 129, 169, 199])}元享{r.pick([30, 60, 100])}GB流量+{r.pick([500, 1000])}分钟通话，详询{hot}",
                   f"千兆宽带新装享{r.pick(['首年5折', '免费安装', '送路由器', '送半年'])}，家庭融合套餐低至{r.pick([59, 79, 99])}元/月",
                   f"您的积分{r.randint(1000, 30000)}分可兑换话费或流量，登录{t}App“积分商城”查看",
                   f"老用户专享：预存{r.pick([100, 200, 300])}元送{r.pick([100, 200, 300])}元话费，名额有限，回复1办理"])
    return r.vary(r.sig(t, body + ending(r, t, 0.2), 0.05))


@family(L, "mkt_festival_sale", weight=1.2)
def festival(r):
    b = r.pick(["京东", "天猫", "淘宝", "拼多多", "苏宁易购", "唯品会", "抖音商城", "华为商城", "小米商城", "得物",
                "网易严选", "当当网", "考拉海购", "京东超市"])
    fest = r.pick(["双11", "双十一", "618", "双12", "年货节", "38女王节", "开学季", "99划算节", "黑五"])
    body = r.pick([f"{fest}预售开启！{r.pick(['付定金立减', '跨店每满300减50', '百亿补贴', '限时秒杀'])}，{offer(r)}",
                   f"{fest}狂欢倒计时{r.randint(1, 3)}天，您加购的商品已降价，{offer(r)}",
                   f"{fest}红包已到账，最高{r.pick([88, 188, 520, 888, 1111])}元，今晚8点开抢",
                   f"{fest}返场：{offer(r)}，{r.pick(['24期免息', '以旧换新补贴', '晚8点开抢', '前1小时买一送一'])}"])
    return r.vary(r.sig(b, body + ending(r, b, 0.5), 0.1))


@family(L, "mkt_bank_card_promo")
def bank_promo(r):
    bank, hot = r.pick(BANKS)
    body = r.pick([f"周三{r.pick(['美食', '加油', '观影', '超市'])}日，用{bank}信用卡支付满{r.pick([50, 100, 200])}立减{r.pick([10, 20, 30])}元",
                   f"您的信用卡积分{r.randint(2000, 90000)}分，可在掌上App积分商城兑换{r.pick(['星巴克饮品', '视频会员', '里程', '生活好礼'])}",
                   f"新客开卡礼：办理{r.pick(['联名信用卡', '白金卡', '青年卡'])}并首刷即送{r.pick(['行李箱', '蓝牙音箱', '50元立减金'])}",
                   f"{r.pick(['手机银行', '掌上生活'])}App{r.pick(['周五', '周末'])}抽奖，最高赢{r.pick([88, 188, 888])}元微信立减金"])
    return r.vary(r.sig(bank, body + ending(r, bank, 0.15), 0.05))


@family(L, "mkt_education", weight=0.8)
def education(r):
    b = r.pick(EDU)
    body = r.pick([f"{r.pick(['暑期班', '寒假班', '秋季班'])}火热报名中，{r.md(0)}前报名立减{r.pick([200, 300, 500])}元，免费试听课限时预约",
                   f"{r.pick(['考研', '公考', '四六级', '雅思', '教资'])}冲刺营开课，{r.pick(['名师直播', '真题精讲', '1对1答疑'])}，首课{r.pick([0, 1, 9.9])}元",
                   f"孩子的{r.pick(['数学思维', '英语启蒙', '编程', '书法'])}体验课已为您预留，{r.pick(['周六', '周日'])}"
                   f"{r.pick(['9:00', '10:30', '14:00', '15:30', '19:00'])}开课"])
    return r.vary(r.sig(b, body + ending(r, b, 0.3), 0.1))


@family(L, "mkt_real_estate", weight=0.7)
def real_estate(r):
    b = r.pick(["链家", "贝壳找房", "我爱我家", "安居客", "万科", "碧桂园", "保利发展", "龙湖", "绿城中国", "华润置地"])
    agent = b in ("链家", "贝壳找房", "我爱我家", "安居客")
    body = r.pick([f"您关注的{r.community()}新上{r.randint(2, 9)}套房源，总价{r.randint(80, 900)}万起，详询经纪人",
                   f"{r.city()}{r.pick(COMMUNITIES)}{r.pick(['样板间开放', '首付分期', '认筹中'])}，{r.randint(70, 180)}㎡{r.pick(['三房', '四房'])}，"
                   f"{r.pick(['特价房源限量', '到访有礼', '团购享98折'])}",
                   f"{r.community()}业主委托出租，{r.pick(['精装两居', '南北通透三居', '地铁口一居'])}，月租{r.randint(20, 90)}00元"
                   if agent else f"{r.pick(['现房发售', '准现房', '二期加推'])}，{r.city()}{r.pick(COMMUNITIES)}"
                   f"{r.randint(89, 143)}㎡{r.pick(['洋房', '高层'])}，{r.pick(['首付10%起', '限时98折', '购房送车位'])}"])
    return r.vary(r.sig(b, body + ending(r, b, 0.2), 0.1))


@family(L, "mkt_travel_deal", weight=0.9)
def travel(r):
    b = r.pick(["携程旅行", "飞猪", "去哪儿旅行", "同程旅行", "途牛旅游", "马蜂窝", "春秋航空", "南方航空", "华住会", "亚朵酒店"])
    if b in ("华住会", "亚朵酒店"):
        body = f"会员日：{r.pick(['连住2晚', '周末入住', '提前7天预订'])}享{r.pick([7, 8, 8.5])}折，再送{r.pick(['延迟退房', '双早', '积分翻倍'])}"
        return r.vary(r.sig(b, body + ending(r, b, 0.2), 0.1))
    if b in ("春秋航空", "南方航空"):
        body = f"{r.pick(['暑期', '国庆', '春节', '五一', '周末'])}特惠机票{r.city()}出发低至{r.pick([99, 199, 299])}元起，会员再享{r.pick(['9折', '里程翻倍', '免费选座', '行李额加赠'])}"
        return r.vary(r.sig(b, body + ending(r, b, 0.2), 0.1))
    body = r.pick([f"{r.pick(['暑期', '国庆', '春节', '五一', '周末'])}特惠机票低至{r.pick([99, 199, 299])}元起，"
                   f"{r.pick(['酒店满减券限时领取', '机+酒套餐再减200', '学生认证再享9折', '新人立减50元'])}",
                   f"{r.city()}出发{r.pick(['三亚', '云南', '日本', '泰国', '新疆'])}{r.randint(3, 8)}日游，跟团价{r.randint(19, 99)}99元起",
                   f"酒店会员日：{r.pick(['连住2晚', '周末入住', '提前7天预订'])}享{r.pick([7, 8, 8.5])}折，再送{r.pick(['延迟退房', '双早', '积分翻倍'])}"])
    return r.vary(r.sig(b, body + ending(r, b, 0.35), 0.1))


@family(L, "mkt_coupon_expiring")
def coupon(r):
    b = r.pick(["美团", "饿了么", "大众点评", "滴滴出行", "高德地图", "盒马", "叮咚买菜", "美团外卖", "淘宝闪购", "京东到家"])
    body = r.pick([f"您有{r.randint(2, 8)}张优惠券共{r.pick([15, 30, 45, 60, 88])}元即将过期，{r.pick(['今晚24点', '明天', '3天后'])}失效",
                   f"专属{r.pick(['外卖', '打车', '买菜', '到店'])}红包已放入您的账户，{r.pick(['满20减8', '满30减12', '无门槛5元'])}，快去使用吧",
                   f"好久不见，送您{r.pick(['新人回归礼包', '30元打车券', '会员月卡1元购'])}，限时{r.randint(3, 7)}天"])
    return r.vary(r.sig(b, body + ending(r, b, 0.4), 0.1))


# ---- test families ----

@family(L, "mkt_signature_end_membership", split="test")
def sig_end(r):
    b = r.pick(RETAIL + FOOD)
    body = r.pick([f"亲爱的会员{r.surname()}{r.pick(['先生', '女士'])}，生日快乐！{r.pick(['生日当月', '本月内'])}到店消费享双倍积分，另赠生日礼一份",
                   f"尊享会员，您的{r.pick(['银卡', '金卡', '钻石卡'])}即将升级，再消费{r.randint(100, 900)}元即可解锁更多权益",
                   f"您的积分{r.randint(300, 9000)}分将于{r.md(0)}清零，可至门店兑换{r.pick(['饮品', '购物袋', '代金券'])}"])
    return f"{body}。{r.optout()}【{b}】" if r.random() < 0.6 else f"【{b}】{body}，{r.optout()}"


@family(L, "mkt_store_event_invite", split="test")
def event(r):
    b = r.pick(["宜家家居", "红星美凯龙", "居然之家", "万达广场", "银泰百货", "大悦城", "奥特莱斯", "苹果授权店",
                "蔚来中心", "小鹏汽车", "理想汽车", "华为智选"])
    cars = b in ("蔚来中心", "小鹏汽车", "理想汽车")
    body = r.pick([f"诚邀您参加{r.md(0)}{r.city()}{r.pick(['新店开业', '周年庆典', '会员沙龙', '新品品鉴会', '试驾日'])}，到场即送{r.pick(['精美礼品', '咖啡券', '停车券'])}",
                   f"{r.city()}{r.pick(['旗舰店', '体验中心'])}盛大开业，前{r.randint(100, 500)}名到店顾客可获开业礼，更有抽奖活动",
                   f"预约到店试驾{r.pick(['新款SUV', '智能电车', '全新车型'])}即赠{r.pick(['车载香氛', '定制水杯', '500元购车券'])}，名额有限"
                   if cars else f"{r.pick(['周末', '会员日'])}到店消费满{r.pick([500, 1000, 2000])}元可参与抽奖，最高赢{r.pick(['扫地机器人', '千元礼卡', '品牌家电'])}"])
    return r.sig(b, body + "，" + r.optout(), 0.2)


@family(L, "mkt_local_service", split="test")
def local(r):
    b, svc = r.pick([("乐刻运动", ["私教课", "月卡", "年卡"]), ("超级猩猩", ["团课", "私教课"]), ("美丽田园", ["面部护理", "SPA"]),
                     ("克丽缇娜", ["面部护理", "身体护理"]), ("Tony造型", ["烫染", "洗剪吹"]), ("途虎养车", ["保养套餐", "洗车"]),
                     ("天猫养车", ["小保养", "轮胎更换"]), ("孩子王", ["游泳课", "早教课"]), ("爱尔眼科", ["近视筛查", "验光配镜"]),
                     ("瑞尔齿科", ["洁牙", "口腔检查"]), ("美年大健康", ["体检套餐", "父母体检"])])
    body = r.pick([f"{r.pick(svc)}限时{r.pick(['买一年送三个月', '首单1元', '低至5折', '团购价99元'])}，"
                   f"{r.pick(['门店地址见小程序', '预约享优先排期', '老带新各得一次'])}",
                   f"您好久没来啦，{r.pick(['送您一次免费体验', '回店即享8折', '为您准备了专属礼包'])}，{r.md(0)}前有效"])
    return r.sig(b, body + "。" + r.optout(), 0.15)
