/**
 * `world-large`: 360 PoPs in the largest metro areas of every inhabited continent (the
 * seed's "300+"), for scale tests. Rows are `IATA,city,country,latitude,longitude[,time zone]`;
 * a country's continent and usual time zone come from the table below. PoPs fill from the shield
 * of their continent: the Americas from us-east, Europe and Africa from eu-west, Asia and
 * Oceania from apac.
 */
import type { Pop } from './types.ts';

/** country → [continent, usual time zone] */
const COUNTRIES: Record<string, [string, string]> = {
  AE: ['AS', 'Asia/Dubai'],
  AF: ['AS', 'Asia/Kabul'],
  AL: ['EU', 'Europe/Tirane'],
  AM: ['AS', 'Asia/Yerevan'],
  AO: ['AF', 'Africa/Luanda'],
  AR: ['SA', 'America/Argentina/Buenos_Aires'],
  AT: ['EU', 'Europe/Vienna'],
  AU: ['OC', 'Australia/Sydney'],
  AZ: ['AS', 'Asia/Baku'],
  BA: ['EU', 'Europe/Sarajevo'],
  BD: ['AS', 'Asia/Dhaka'],
  BE: ['EU', 'Europe/Brussels'],
  BF: ['AF', 'Africa/Ouagadougou'],
  BG: ['EU', 'Europe/Sofia'],
  BH: ['AS', 'Asia/Bahrain'],
  BJ: ['AF', 'Africa/Porto-Novo'],
  BN: ['AS', 'Asia/Brunei'],
  BO: ['SA', 'America/La_Paz'],
  BR: ['SA', 'America/Sao_Paulo'],
  BW: ['AF', 'Africa/Gaborone'],
  BY: ['EU', 'Europe/Minsk'],
  CA: ['NA', 'America/Toronto'],
  CD: ['AF', 'Africa/Kinshasa'],
  CG: ['AF', 'Africa/Brazzaville'],
  CH: ['EU', 'Europe/Zurich'],
  CI: ['AF', 'Africa/Abidjan'],
  CL: ['SA', 'America/Santiago'],
  CM: ['AF', 'Africa/Douala'],
  CN: ['AS', 'Asia/Shanghai'],
  CO: ['SA', 'America/Bogota'],
  CR: ['NA', 'America/Costa_Rica'],
  CU: ['NA', 'America/Havana'],
  CZ: ['EU', 'Europe/Prague'],
  DE: ['EU', 'Europe/Berlin'],
  DJ: ['AF', 'Africa/Djibouti'],
  DK: ['EU', 'Europe/Copenhagen'],
  DO: ['NA', 'America/Santo_Domingo'],
  DZ: ['AF', 'Africa/Algiers'],
  EC: ['SA', 'America/Guayaquil'],
  EE: ['EU', 'Europe/Tallinn'],
  EG: ['AF', 'Africa/Cairo'],
  ES: ['EU', 'Europe/Madrid'],
  ET: ['AF', 'Africa/Addis_Ababa'],
  FI: ['EU', 'Europe/Helsinki'],
  FJ: ['OC', 'Pacific/Fiji'],
  FR: ['EU', 'Europe/Paris'],
  GA: ['AF', 'Africa/Libreville'],
  GB: ['EU', 'Europe/London'],
  GE: ['AS', 'Asia/Tbilisi'],
  GH: ['AF', 'Africa/Accra'],
  GR: ['EU', 'Europe/Athens'],
  GT: ['NA', 'America/Guatemala'],
  GU: ['OC', 'Pacific/Guam'],
  HK: ['AS', 'Asia/Hong_Kong'],
  HN: ['NA', 'America/Tegucigalpa'],
  HR: ['EU', 'Europe/Zagreb'],
  HT: ['NA', 'America/Port-au-Prince'],
  HU: ['EU', 'Europe/Budapest'],
  ID: ['AS', 'Asia/Jakarta'],
  IE: ['EU', 'Europe/Dublin'],
  IL: ['AS', 'Asia/Jerusalem'],
  IN: ['AS', 'Asia/Kolkata'],
  IQ: ['AS', 'Asia/Baghdad'],
  IR: ['AS', 'Asia/Tehran'],
  IS: ['EU', 'Atlantic/Reykjavik'],
  IT: ['EU', 'Europe/Rome'],
  JM: ['NA', 'America/Jamaica'],
  JO: ['AS', 'Asia/Amman'],
  JP: ['AS', 'Asia/Tokyo'],
  KE: ['AF', 'Africa/Nairobi'],
  KG: ['AS', 'Asia/Bishkek'],
  KH: ['AS', 'Asia/Phnom_Penh'],
  KR: ['AS', 'Asia/Seoul'],
  KW: ['AS', 'Asia/Kuwait'],
  KZ: ['AS', 'Asia/Almaty'],
  LA: ['AS', 'Asia/Vientiane'],
  LB: ['AS', 'Asia/Beirut'],
  LK: ['AS', 'Asia/Colombo'],
  LT: ['EU', 'Europe/Vilnius'],
  LU: ['EU', 'Europe/Luxembourg'],
  LV: ['EU', 'Europe/Riga'],
  LY: ['AF', 'Africa/Tripoli'],
  MA: ['AF', 'Africa/Casablanca'],
  MD: ['EU', 'Europe/Chisinau'],
  MG: ['AF', 'Indian/Antananarivo'],
  MK: ['EU', 'Europe/Skopje'],
  ML: ['AF', 'Africa/Bamako'],
  MM: ['AS', 'Asia/Yangon'],
  MN: ['AS', 'Asia/Ulaanbaatar'],
  MO: ['AS', 'Asia/Macau'],
  MT: ['EU', 'Europe/Malta'],
  MU: ['AF', 'Indian/Mauritius'],
  MV: ['AS', 'Indian/Maldives'],
  MX: ['NA', 'America/Mexico_City'],
  MY: ['AS', 'Asia/Kuala_Lumpur'],
  MZ: ['AF', 'Africa/Maputo'],
  NA: ['AF', 'Africa/Windhoek'],
  NC: ['OC', 'Pacific/Noumea'],
  NE: ['AF', 'Africa/Niamey'],
  NG: ['AF', 'Africa/Lagos'],
  NI: ['NA', 'America/Managua'],
  NL: ['EU', 'Europe/Amsterdam'],
  NO: ['EU', 'Europe/Oslo'],
  NP: ['AS', 'Asia/Kathmandu'],
  NZ: ['OC', 'Pacific/Auckland'],
  OM: ['AS', 'Asia/Muscat'],
  PA: ['NA', 'America/Panama'],
  PE: ['SA', 'America/Lima'],
  PF: ['OC', 'Pacific/Tahiti'],
  PG: ['OC', 'Pacific/Port_Moresby'],
  PH: ['AS', 'Asia/Manila'],
  PK: ['AS', 'Asia/Karachi'],
  PL: ['EU', 'Europe/Warsaw'],
  PR: ['NA', 'America/Puerto_Rico'],
  PT: ['EU', 'Europe/Lisbon'],
  PY: ['SA', 'America/Asuncion'],
  QA: ['AS', 'Asia/Qatar'],
  RO: ['EU', 'Europe/Bucharest'],
  RS: ['EU', 'Europe/Belgrade'],
  RU: ['EU', 'Europe/Moscow'],
  RW: ['AF', 'Africa/Kigali'],
  SA: ['AS', 'Asia/Riyadh'],
  SD: ['AF', 'Africa/Khartoum'],
  SE: ['EU', 'Europe/Stockholm'],
  SG: ['AS', 'Asia/Singapore'],
  SI: ['EU', 'Europe/Ljubljana'],
  SK: ['EU', 'Europe/Bratislava'],
  SN: ['AF', 'Africa/Dakar'],
  SO: ['AF', 'Africa/Mogadishu'],
  SV: ['NA', 'America/El_Salvador'],
  TG: ['AF', 'Africa/Lome'],
  TH: ['AS', 'Asia/Bangkok'],
  TN: ['AF', 'Africa/Tunis'],
  TR: ['AS', 'Europe/Istanbul'],
  TT: ['NA', 'America/Port_of_Spain'],
  TW: ['AS', 'Asia/Taipei'],
  TZ: ['AF', 'Africa/Dar_es_Salaam'],
  UA: ['EU', 'Europe/Kyiv'],
  UG: ['AF', 'Africa/Kampala'],
  US: ['NA', 'America/New_York'],
  UY: ['SA', 'America/Montevideo'],
  UZ: ['AS', 'Asia/Tashkent'],
  VE: ['SA', 'America/Caracas'],
  VN: ['AS', 'Asia/Ho_Chi_Minh'],
  ZA: ['AF', 'Africa/Johannesburg'],
  ZM: ['AF', 'Africa/Lusaka'],
  ZW: ['AF', 'Africa/Harare'],
};

/** Cities east of the Urals are in Asia. */
const ASIAN_RUSSIA = new Set(['SVX', 'OVB', 'VVO']);

const ROWS = `
IAD,Ashburn,US,39.04,-77.49
JFK,New York,US,40.71,-74.01
EWR,Newark,US,40.74,-74.17
BOS,Boston,US,42.36,-71.06
PHL,Philadelphia,US,39.95,-75.17
BWI,Baltimore,US,39.29,-76.61
PIT,Pittsburgh,US,40.44,-80.0
CLT,Charlotte,US,35.23,-80.84
RDU,Raleigh,US,35.78,-78.64
ATL,Atlanta,US,33.75,-84.39
MIA,Miami,US,25.76,-80.19
TPA,Tampa,US,27.95,-82.46
MCO,Orlando,US,28.54,-81.38
JAX,Jacksonville,US,30.33,-81.66
BNA,Nashville,US,36.16,-86.78,America/Chicago
MEM,Memphis,US,35.15,-90.05,America/Chicago
CLE,Cleveland,US,41.5,-81.69
CMH,Columbus,US,39.96,-83.0
CVG,Cincinnati,US,39.1,-84.51
DTW,Detroit,US,42.33,-83.05
IND,Indianapolis,US,39.77,-86.16
ORD,Chicago,US,41.88,-87.63,America/Chicago
MKE,Milwaukee,US,43.04,-87.91,America/Chicago
MSP,Minneapolis,US,44.98,-93.27,America/Chicago
STL,St. Louis,US,38.63,-90.2,America/Chicago
MCI,Kansas City,US,39.1,-94.58,America/Chicago
OMA,Omaha,US,41.26,-95.93,America/Chicago
DFW,Dallas,US,32.78,-96.8,America/Chicago
IAH,Houston,US,29.76,-95.37,America/Chicago
AUS,Austin,US,30.27,-97.74,America/Chicago
SAT,San Antonio,US,29.42,-98.49,America/Chicago
MSY,New Orleans,US,29.95,-90.07,America/Chicago
OKC,Oklahoma City,US,35.47,-97.52,America/Chicago
DEN,Denver,US,39.74,-104.99,America/Denver
SLC,Salt Lake City,US,40.76,-111.89,America/Denver
ABQ,Albuquerque,US,35.08,-106.65,America/Denver
PHX,Phoenix,US,33.45,-112.07,America/Phoenix
LAS,Las Vegas,US,36.17,-115.14,America/Los_Angeles
LAX,Los Angeles,US,34.05,-118.24,America/Los_Angeles
SAN,San Diego,US,32.72,-117.16,America/Los_Angeles
SFO,San Francisco,US,37.77,-122.42,America/Los_Angeles
SJC,San Jose,US,37.34,-121.89,America/Los_Angeles
SMF,Sacramento,US,38.58,-121.49,America/Los_Angeles
PDX,Portland,US,45.52,-122.68,America/Los_Angeles
SEA,Seattle,US,47.61,-122.33,America/Los_Angeles
ANC,Anchorage,US,61.22,-149.9,America/Anchorage
HNL,Honolulu,US,21.31,-157.86,Pacific/Honolulu
YYZ,Toronto,CA,43.65,-79.38
YUL,Montreal,CA,45.5,-73.57
YOW,Ottawa,CA,45.42,-75.7
YWG,Winnipeg,CA,49.9,-97.14,America/Winnipeg
YYC,Calgary,CA,51.05,-114.07,America/Edmonton
YEG,Edmonton,CA,53.55,-113.49,America/Edmonton
YVR,Vancouver,CA,49.28,-123.12,America/Vancouver
YHZ,Halifax,CA,44.65,-63.58,America/Halifax
MEX,Mexico City,MX,19.43,-99.13
GDL,Guadalajara,MX,20.66,-103.35
MTY,Monterrey,MX,25.69,-100.32
QRO,Queretaro,MX,20.59,-100.39
TIJ,Tijuana,MX,32.51,-117.04,America/Tijuana
CUN,Cancun,MX,21.16,-86.85,America/Cancun
GUA,Guatemala City,GT,14.63,-90.51
SAL,San Salvador,SV,13.69,-89.22
TGU,Tegucigalpa,HN,14.07,-87.19
MGA,Managua,NI,12.11,-86.24
SJO,San Jose,CR,9.93,-84.08
PTY,Panama City,PA,8.98,-79.52
HAV,Havana,CU,23.11,-82.37
SDQ,Santo Domingo,DO,18.49,-69.93
PAP,Port-au-Prince,HT,18.59,-72.31
KIN,Kingston,JM,17.97,-76.79
SJU,San Juan,PR,18.47,-66.11
POS,Port of Spain,TT,10.66,-61.52
BOG,Bogota,CO,4.71,-74.07
MDE,Medellin,CO,6.24,-75.58
CLO,Cali,CO,3.45,-76.53
BAQ,Barranquilla,CO,10.96,-74.8
CCS,Caracas,VE,10.48,-66.9
UIO,Quito,EC,-0.18,-78.47
GYE,Guayaquil,EC,-2.17,-79.92
LIM,Lima,PE,-12.05,-77.04
LPB,La Paz,BO,-16.5,-68.15
VVI,Santa Cruz,BO,-17.78,-63.18
ASU,Asuncion,PY,-25.26,-57.58
MVD,Montevideo,UY,-34.9,-56.16
EZE,Buenos Aires,AR,-34.6,-58.38
COR,Cordoba,AR,-31.42,-64.18
ROS,Rosario,AR,-32.95,-60.65
MDZ,Mendoza,AR,-32.89,-68.83
SCL,Santiago,CL,-33.45,-70.67
GRU,Sao Paulo,BR,-23.55,-46.63
GIG,Rio de Janeiro,BR,-22.91,-43.17
BSB,Brasilia,BR,-15.79,-47.88
CNF,Belo Horizonte,BR,-19.92,-43.94
POA,Porto Alegre,BR,-30.03,-51.23
CWB,Curitiba,BR,-25.43,-49.27
SSA,Salvador,BR,-12.97,-38.5,America/Bahia
REC,Recife,BR,-8.05,-34.88,America/Recife
FOR,Fortaleza,BR,-3.73,-38.53,America/Fortaleza
BEL,Belem,BR,-1.46,-48.5,America/Belem
MAO,Manaus,BR,-3.12,-60.02,America/Manaus
GYN,Goiania,BR,-16.68,-49.25
FLN,Florianopolis,BR,-27.6,-48.55
LHR,London,GB,51.51,-0.13
MAN,Manchester,GB,53.48,-2.24
BHX,Birmingham,GB,52.49,-1.89
EDI,Edinburgh,GB,55.95,-3.19
GLA,Glasgow,GB,55.86,-4.25
DUB,Dublin,IE,53.35,-6.26
ORK,Cork,IE,51.9,-8.47
CDG,Paris,FR,48.86,2.35
MRS,Marseille,FR,43.3,5.37
LYS,Lyon,FR,45.76,4.84
TLS,Toulouse,FR,43.6,1.44
BOD,Bordeaux,FR,44.84,-0.58
NCE,Nice,FR,43.7,7.27
BRU,Brussels,BE,50.85,4.35
AMS,Amsterdam,NL,52.37,4.9
RTM,Rotterdam,NL,51.92,4.48
LUX,Luxembourg,LU,49.61,6.13
FRA,Frankfurt,DE,50.11,8.68
BER,Berlin,DE,52.52,13.4
HAM,Hamburg,DE,53.55,9.99
MUC,Munich,DE,48.14,11.58
DUS,Dusseldorf,DE,51.23,6.78
CGN,Cologne,DE,50.94,6.96
STR,Stuttgart,DE,48.78,9.18
LEJ,Leipzig,DE,51.34,12.37
HAJ,Hannover,DE,52.38,9.73
NUE,Nuremberg,DE,49.45,11.08
ZRH,Zurich,CH,47.38,8.54
GVA,Geneva,CH,46.2,6.14
VIE,Vienna,AT,48.21,16.37
PRG,Prague,CZ,50.08,14.44
BRQ,Brno,CZ,49.2,16.61
BTS,Bratislava,SK,48.15,17.11
BUD,Budapest,HU,47.5,19.04
WAW,Warsaw,PL,52.23,21.01
KRK,Krakow,PL,50.06,19.94
WRO,Wroclaw,PL,51.11,17.04
GDN,Gdansk,PL,54.35,18.65
CPH,Copenhagen,DK,55.68,12.57
AAR,Aarhus,DK,56.16,10.2
OSL,Oslo,NO,59.91,10.75
BGO,Bergen,NO,60.39,5.32
ARN,Stockholm,SE,59.33,18.07
GOT,Gothenburg,SE,57.71,11.97
MMX,Malmo,SE,55.6,13.0
HEL,Helsinki,FI,60.17,24.94
TLL,Tallinn,EE,59.44,24.75
RIX,Riga,LV,56.95,24.11
VNO,Vilnius,LT,54.69,25.28
KEF,Reykjavik,IS,64.15,-21.94
LIS,Lisbon,PT,38.72,-9.14
OPO,Porto,PT,41.15,-8.61
MAD,Madrid,ES,40.42,-3.7
BCN,Barcelona,ES,41.39,2.17
VLC,Valencia,ES,39.47,-0.38
SVQ,Seville,ES,37.39,-5.98
BIO,Bilbao,ES,43.26,-2.93
AGP,Malaga,ES,36.72,-4.42
PMI,Palma,ES,39.57,2.65
LPA,Las Palmas,ES,28.12,-15.43,Atlantic/Canary
FCO,Rome,IT,41.9,12.5
MXP,Milan,IT,45.46,9.19
NAP,Naples,IT,40.85,14.27
TRN,Turin,IT,45.07,7.69
BLQ,Bologna,IT,44.49,11.34
FLR,Florence,IT,43.77,11.26
PMO,Palermo,IT,38.12,13.36
VCE,Venice,IT,45.44,12.32
MLA,Valletta,MT,35.9,14.51
ATH,Athens,GR,37.98,23.73
SKG,Thessaloniki,GR,40.64,22.94
SOF,Sofia,BG,42.7,23.32
OTP,Bucharest,RO,44.43,26.1
CLJ,Cluj-Napoca,RO,46.77,23.6
BEG,Belgrade,RS,44.79,20.45
ZAG,Zagreb,HR,45.81,15.98
LJU,Ljubljana,SI,46.06,14.51
SJJ,Sarajevo,BA,43.86,18.41
SKP,Skopje,MK,41.99,21.43
TIA,Tirana,AL,41.33,19.82
KIV,Chisinau,MD,47.01,28.86
KBP,Kyiv,UA,50.45,30.52
LWO,Lviv,UA,49.84,24.03
ODS,Odesa,UA,46.48,30.72
MSQ,Minsk,BY,53.9,27.56
SVO,Moscow,RU,55.76,37.62
LED,Saint Petersburg,RU,59.93,30.36
KZN,Kazan,RU,55.8,49.11
SVX,Yekaterinburg,RU,56.84,60.61,Asia/Yekaterinburg
OVB,Novosibirsk,RU,55.01,82.93,Asia/Novosibirsk
VVO,Vladivostok,RU,43.12,131.89,Asia/Vladivostok
IST,Istanbul,TR,41.01,28.98
ESB,Ankara,TR,39.93,32.86
ADB,Izmir,TR,38.42,27.14
AYT,Antalya,TR,36.9,30.71
TBS,Tbilisi,GE,41.72,44.79
EVN,Yerevan,AM,40.18,44.51
GYD,Baku,AZ,40.41,49.87
CAI,Cairo,EG,30.04,31.24
HBE,Alexandria,EG,31.2,29.92
CMN,Casablanca,MA,33.57,-7.59
RAK,Marrakesh,MA,31.63,-8.0
ALG,Algiers,DZ,36.75,3.06
TUN,Tunis,TN,36.81,10.18
TIP,Tripoli,LY,32.89,13.19
LOS,Lagos,NG,6.52,3.38
ABV,Abuja,NG,9.08,7.4
ACC,Accra,GH,5.6,-0.19
ABJ,Abidjan,CI,5.36,-4.01
DSS,Dakar,SN,14.72,-17.47
BKO,Bamako,ML,12.64,-8.0
OUA,Ouagadougou,BF,12.37,-1.53
NIM,Niamey,NE,13.51,2.13
COO,Cotonou,BJ,6.37,2.39
LFW,Lome,TG,6.13,1.22
DLA,Douala,CM,4.05,9.77
LBV,Libreville,GA,0.42,9.47
FIH,Kinshasa,CD,-4.44,15.27
BZV,Brazzaville,CG,-4.27,15.28
LAD,Luanda,AO,-8.84,13.23
NBO,Nairobi,KE,-1.29,36.82
MBA,Mombasa,KE,-4.04,39.67
ADD,Addis Ababa,ET,9.03,38.74
KRT,Khartoum,SD,15.5,32.56
EBB,Kampala,UG,0.35,32.58
KGL,Kigali,RW,-1.94,30.06
DAR,Dar es Salaam,TZ,-6.79,39.21
LUN,Lusaka,ZM,-15.39,28.32
HRE,Harare,ZW,-17.83,31.05
MPM,Maputo,MZ,-25.97,32.57
JNB,Johannesburg,ZA,-26.2,28.05
CPT,Cape Town,ZA,-33.92,18.42
DUR,Durban,ZA,-29.86,31.02
WDH,Windhoek,NA,-22.56,17.08
GBE,Gaborone,BW,-24.63,25.92
TNR,Antananarivo,MG,-18.88,47.51
MRU,Port Louis,MU,-20.16,57.5
DJI,Djibouti,DJ,11.59,43.15
MGQ,Mogadishu,SO,2.05,45.32
DXB,Dubai,AE,25.2,55.27
AUH,Abu Dhabi,AE,24.45,54.38
DOH,Doha,QA,25.29,51.53
BAH,Manama,BH,26.23,50.59
KWI,Kuwait City,KW,29.38,47.99
RUH,Riyadh,SA,24.71,46.68
JED,Jeddah,SA,21.49,39.19
DMM,Dammam,SA,26.43,50.1
MCT,Muscat,OM,23.59,58.41
AMM,Amman,JO,31.95,35.93
BEY,Beirut,LB,33.89,35.5
TLV,Tel Aviv,IL,32.09,34.78
BGW,Baghdad,IQ,33.31,44.36
EBL,Erbil,IQ,36.19,44.01
IKA,Tehran,IR,35.69,51.39
MHD,Mashhad,IR,36.3,59.61
KHI,Karachi,PK,24.86,67.0
LHE,Lahore,PK,31.55,74.34
ISB,Islamabad,PK,33.68,73.05
KBL,Kabul,AF,34.56,69.21
TAS,Tashkent,UZ,41.3,69.24
ALA,Almaty,KZ,43.24,76.95
NQZ,Astana,KZ,51.17,71.45
FRU,Bishkek,KG,42.87,74.59
BOM,Mumbai,IN,19.08,72.88
DEL,New Delhi,IN,28.61,77.21
BLR,Bangalore,IN,12.97,77.59
MAA,Chennai,IN,13.08,80.27
HYD,Hyderabad,IN,17.39,78.49
CCU,Kolkata,IN,22.57,88.36
AMD,Ahmedabad,IN,23.02,72.57
PNQ,Pune,IN,18.52,73.86
JAI,Jaipur,IN,26.91,75.79
LKO,Lucknow,IN,26.85,80.95
COK,Kochi,IN,9.93,76.27
NAG,Nagpur,IN,21.15,79.09
PAT,Patna,IN,25.59,85.14
BBI,Bhubaneswar,IN,20.3,85.82
IXC,Chandigarh,IN,30.73,76.78
CMB,Colombo,LK,6.93,79.86
MLE,Male,MV,4.18,73.51
KTM,Kathmandu,NP,27.72,85.32
DAC,Dhaka,BD,23.81,90.41
CGP,Chittagong,BD,22.36,91.78
RGN,Yangon,MM,16.87,96.2
BKK,Bangkok,TH,13.76,100.5
CNX,Chiang Mai,TH,18.79,98.98
HKT,Phuket,TH,7.88,98.39
PNH,Phnom Penh,KH,11.56,104.92
VTE,Vientiane,LA,17.98,102.63
SGN,Ho Chi Minh City,VN,10.82,106.63
HAN,Hanoi,VN,21.03,105.85
DAD,Da Nang,VN,16.05,108.2
KUL,Kuala Lumpur,MY,3.14,101.69
PEN,Penang,MY,5.41,100.33
JHB,Johor Bahru,MY,1.49,103.74
SIN,Singapore,SG,1.35,103.82
CGK,Jakarta,ID,-6.21,106.85
SUB,Surabaya,ID,-7.25,112.75
DPS,Denpasar,ID,-8.65,115.22,Asia/Makassar
MES,Medan,ID,3.6,98.67
BDO,Bandung,ID,-6.91,107.61
MNL,Manila,PH,14.6,120.98
CEB,Cebu,PH,10.32,123.89
DVO,Davao,PH,7.19,125.46
BWN,Bandar Seri Begawan,BN,4.9,114.94
HKG,Hong Kong,HK,22.32,114.17
MFM,Macau,MO,22.2,113.54
TPE,Taipei,TW,25.03,121.57
KHH,Kaohsiung,TW,22.63,120.3
PEK,Beijing,CN,39.9,116.41
PVG,Shanghai,CN,31.23,121.47
CAN,Guangzhou,CN,23.13,113.26
SZX,Shenzhen,CN,22.54,114.06
CTU,Chengdu,CN,30.57,104.07
CKG,Chongqing,CN,29.56,106.55
WUH,Wuhan,CN,30.59,114.31
XIY,Xi'an,CN,34.34,108.94
HGH,Hangzhou,CN,30.27,120.16
NKG,Nanjing,CN,32.06,118.8
TSN,Tianjin,CN,39.34,117.36
SHE,Shenyang,CN,41.8,123.43
HRB,Harbin,CN,45.8,126.53
TAO,Qingdao,CN,36.07,120.38
XMN,Xiamen,CN,24.48,118.09
KMG,Kunming,CN,25.04,102.71
CSX,Changsha,CN,28.23,112.94
ZGC,Lanzhou,CN,36.06,103.83
URC,Urumqi,CN,43.83,87.62
ULN,Ulaanbaatar,MN,47.89,106.91
ICN,Seoul,KR,37.57,126.98
PUS,Busan,KR,35.18,129.08
TAE,Daegu,KR,35.87,128.6
NRT,Tokyo,JP,35.68,139.65
KIX,Osaka,JP,34.69,135.5
NGO,Nagoya,JP,35.18,136.91
FUK,Fukuoka,JP,33.59,130.4
CTS,Sapporo,JP,43.06,141.35
SDJ,Sendai,JP,38.27,140.87
HIJ,Hiroshima,JP,34.39,132.46
OKA,Naha,JP,26.21,127.68
SYD,Sydney,AU,-33.87,151.21,Australia/Sydney
MEL,Melbourne,AU,-37.81,144.96,Australia/Melbourne
BNE,Brisbane,AU,-27.47,153.03,Australia/Brisbane
PER,Perth,AU,-31.95,115.86,Australia/Perth
ADL,Adelaide,AU,-34.93,138.6,Australia/Adelaide
CBR,Canberra,AU,-35.28,149.13,Australia/Sydney
HBA,Hobart,AU,-42.88,147.33,Australia/Hobart
DRW,Darwin,AU,-12.46,130.84,Australia/Darwin
OOL,Gold Coast,AU,-28.02,153.4,Australia/Brisbane
AKL,Auckland,NZ,-36.85,174.76
WLG,Wellington,NZ,-41.29,174.78
CHC,Christchurch,NZ,-43.53,172.64
NAN,Nadi,FJ,-17.8,177.42
POM,Port Moresby,PG,-9.44,147.18
NOU,Noumea,NC,-22.28,166.46
PPT,Papeete,PF,-17.54,-149.57
GUM,Hagatna,GU,13.48,144.75
`;

const SHIELD_OF: Record<string, string> = {
  NA: 'us-east',
  SA: 'us-east',
  EU: 'eu-west',
  AF: 'eu-west',
  AS: 'apac',
  OC: 'apac',
};

export function worldLargePops(): Pop[] {
  return ROWS.trim()
    .split('\n')
    .map((line) => {
      const [id, city, country, lat, lon, tz] = line.split(',');
      const [continentOfCountry, zone] = COUNTRIES[country];
      const continent = ASIAN_RUSSIA.has(id) ? 'AS' : continentOfCountry;
      return {
        id,
        city,
        country,
        continent,
        latitude: Number(lat),
        longitude: Number(lon),
        timezone: tz ?? zone,
        shield: SHIELD_OF[continent],
      };
    });
}
